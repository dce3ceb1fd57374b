"""The LLM answer cache, in SQLite: a rerun of the same date makes no calls, and a run killed
halfway resumes with only the missing calls.

The key is a SHA-256 over everything that shapes an answer: prompt id and version, model,
parameters (temperature, max_tokens, structured-output mode) and the rendered messages (so a
changed abstract, prompt version or model is a miss). Only answers that validated are stored.
A cache file that SQLite cannot read is renamed `*.corrupt-<time>` and a new one is started.

The same file is the ledger of batches (digest.llm.batch): `batches` holds every batch submitted to a
provider (its id, day, model, the keys of its requests, when, and its state), `batch_results` the
answer or the error each batched or imported request got, under the request's cache key, until the
client reads it as it would a live answer. `embeddings` keeps the vectors an endpoint's embedding model gave
(digest.llm.embeddings), by model and the SHA-256 of the text, as float32 bytes.

One connection serves every thread (the event loop's and the worker threads that embed), each use
under one lock: sqlite3 refuses a connection from another thread unless told, and then leaves
serializing its writes to the caller.

The file records its schema version in `PRAGMA user_version` and is upgraded in place by the
numbered MIGRATIONS, so new tables or columns never orphan a cache; a file from a newer version
is refused (CacheError) rather than changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from digest.errors import DigestError

log = logging.getLogger(__name__)

# MIGRATIONS[n] takes a cache from schema version n to n + 1 (a file made before versioning is at
# 0 and may already hold the answers table, hence IF NOT EXISTS). Append only; never edit one.
MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY, prompt TEXT NOT NULL, model TEXT NOT NULL, answer TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, created REAL NOT NULL)""",
    # What the answer cost when it was written (USD), so a rebuild from the cache keeps the day's cost.
    "ALTER TABLE answers ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0",
    # Whether the model was sent back once with a check's reason before this answer (digest.write.gate).
    "ALTER TABLE answers ADD COLUMN retried INTEGER NOT NULL DEFAULT 0",
    # The provider batches of a day (digest.llm.batch): state is "submitted" until collected, then the
    # provider's final status (completed, expired, failed, cancelled); keys is a JSON list of cache keys.
    """CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, model TEXT NOT NULL, keys TEXT NOT NULL, submitted REAL NOT NULL,
    state TEXT NOT NULL)""",
    # What a batch or an imported runner output answered per request: the response body (a chat
    # completion, JSON) or the error; `source` is the batch id or the imported file's name.
    """CREATE TABLE IF NOT EXISTS batch_results (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, body TEXT, error TEXT, created REAL NOT NULL)""",
    # The unit-length vectors (float32 bytes, the platform's byte order) an embedding model gave a text,
    # keyed by the model and the SHA-256 hex digest of the text's UTF-8 bytes (digest.llm.embeddings).
    """CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL, text_sha256 TEXT NOT NULL, vector BLOB NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (model, text_sha256))""",
)
SCHEMA_VERSION = len(MIGRATIONS)


class CacheError(DigestError):
    """The cache file was written by a newer version of the digest (its schema is unknown here)."""


class BatchRecord(NamedTuple):
    """One batch submitted to a provider: its id, the day (ISO date) and model it asks for, the cache
    keys of its requests, when it was submitted (Unix time, seconds) and its state."""

    id: str
    day: str
    model: str
    keys: tuple[str, ...]
    submitted: float
    state: str = "submitted"


class BatchResult(NamedTuple):
    """What a batch answered one request: the chat completion's body (a dict), or an error."""

    source: str
    body: dict | None
    error: str | None


class Cached(NamedTuple):
    """A stored answer and what it cost when it was written."""

    answer: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    retried: bool = False


def migrate(db: sqlite3.Connection) -> int:
    """Bring `db` to SCHEMA_VERSION, one migration per transaction; returns the version it had.

    Raises CacheError when the file is newer than this code knows.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CacheError(
            f"the LLM cache has schema version {version}, newer than this digest's {SCHEMA_VERSION}: "
            "upgrade the digest or name another file with --cache"
        )
    for n in range(version, SCHEMA_VERSION):
        with db:  # one transaction: a killed upgrade leaves the file at the previous version
            db.execute(MIGRATIONS[n])
            db.execute(f"PRAGMA user_version = {n + 1}")
    return version


def cache_key(prompt_ref: str, model: str, params: dict, messages: list[dict]) -> str:
    """SHA-256 hex digest of the call's prompt id@version, model, parameters and messages."""
    blob = json.dumps([prompt_ref, model, params, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _tune(db: sqlite3.Connection) -> None:
    """Write-ahead logging with one sync per checkpoint rather than per commit: a stored answer
    costs about 0.5 ms instead of 17 ms of fsync (bench/day.py), and a commit stays atomic (a crash
    loses at most the last answers, which a rerun asks again)."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")


class AnswerCache:
    """Validated answers by cache_key(), batches and embeddings; `path=None` keeps them in memory only.
    Safe to use from several threads at once."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        path = self.path
        if path is None:
            db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False)
        try:
            migrate(db)  # first: a file of a newer version is refused untouched
            db.execute("SELECT count(*) FROM answers").fetchone()
            _tune(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            if path is None:  # a fresh in-memory database has no file to set aside
                raise
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            path.replace(aside)
            log.warning("LLM cache %s is unreadable (%s): set aside as %s", path, exc, aside.name)
            db = sqlite3.connect(path, check_same_thread=False)
            migrate(db)
            _tune(db)
        except CacheError:
            db.close()
            raise
        return db

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """The rows `sql` selects."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql: str, rows: Iterable[tuple]) -> None:
        """`sql` run once per row in one transaction, committed at once: a killed run keeps all or none."""
        with self._lock, self._db:
            self._db.executemany(sql, rows)

    def get(self, key: str) -> Cached | None:
        """The answer stored under `key` with its tokens, USD cost and whether it was retried, or None."""
        rows = self._query(
            "SELECT answer, prompt_tokens, completion_tokens, cost_usd, retried FROM answers WHERE key = ?", (key,)
        )
        return Cached(*rows[0][:4], retried=bool(rows[0][4])) if rows else None

    def put(
        self,
        key: str,
        prompt_ref: str,
        model: str,
        answer: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float = 0.0,
        retried: bool = False,
    ) -> None:
        """Store one validated answer with its tokens and cost (USD), and whether the model was sent
        back once before it; committed at once so a killed run keeps it."""
        self._write(
            "INSERT OR REPLACE INTO answers (key, prompt, model, answer, prompt_tokens, completion_tokens, created,"
            " cost_usd, retried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(key, prompt_ref, model, answer, prompt_tokens, completion_tokens, time.time(), cost_usd, int(retried))],
        )

    def add_batch(self, record: BatchRecord) -> None:
        """Record a batch just submitted; committed at once, so no later run submits its requests again."""
        self._write(
            "INSERT OR REPLACE INTO batches (id, day, model, keys, submitted, state) VALUES (?, ?, ?, ?, ?, ?)",
            [(record.id, record.day, record.model, json.dumps(record.keys), record.submitted, record.state)],
        )

    def batches(self, day: str) -> list[BatchRecord]:
        """Every batch recorded for `day` (ISO date), oldest first."""
        rows = self._query(
            "SELECT id, day, model, keys, submitted, state FROM batches WHERE day = ? ORDER BY submitted, id", (day,)
        )
        return [BatchRecord(i, d, m, tuple(json.loads(k)), t, s) for i, d, m, k, t, s in rows]

    def set_batch_state(self, batch_id: str, state: str) -> None:
        """The batch `batch_id` is now in `state` (collected: the provider's final status)."""
        self._write("UPDATE batches SET state = ? WHERE id = ?", [(state, batch_id)])

    def put_results(self, source: str, results: dict[str, dict | str]) -> None:
        """Store what `source` (a batch id, an imported file) answered: cache key -> the chat
        completion's body (a dict), or an error (a str). One transaction: a killed import keeps none."""
        now = time.time()
        rows = [
            (key, source, json.dumps(r) if isinstance(r, dict) else None, r if isinstance(r, str) else None, now)
            for key, r in results.items()
        ]
        self._write(
            "INSERT OR REPLACE INTO batch_results (key, source, body, error, created) VALUES (?, ?, ?, ?, ?)", rows
        )

    def result(self, key: str) -> BatchResult | None:
        """What a batch or an imported output answered the request of `key`, or None."""
        rows = self._query("SELECT source, body, error FROM batch_results WHERE key = ?", (key,))
        if not rows:
            return None
        source, body, error = rows[0]
        return BatchResult(source, json.loads(body) if body is not None else None, error)

    def vectors(self, model: str, hashes: Iterable[str]) -> dict[str, bytes]:
        """The stored vectors of `model` (float32 bytes) of those of `hashes` (SHA-256 hex digests of
        texts) it holds, by hash."""
        found = {}
        for text_sha256 in hashes:
            rows = self._query(
                "SELECT vector FROM embeddings WHERE model = ? AND text_sha256 = ?", (model, text_sha256)
            )
            if rows:
                found[text_sha256] = rows[0][0]
        return found

    def put_vectors(self, model: str, vectors: dict[str, bytes]) -> None:
        """Store `model`'s vectors (float32 bytes) by the SHA-256 hex digest of their texts; one
        transaction, committed at once."""
        now = time.time()
        self._write(
            "INSERT OR REPLACE INTO embeddings (model, text_sha256, vector, created) VALUES (?, ?, ?, ?)",
            [(model, text_sha256, vector, now) for text_sha256, vector in vectors.items()],
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
