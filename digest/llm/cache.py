"""The LLM answer cache, in SQLite: a rerun of the same date makes no calls, and a run killed
halfway resumes with only the missing calls.

The key is a SHA-256 over everything that shapes an answer: prompt id and version, model,
parameters (temperature, max_tokens, structured-output mode) and the rendered messages (so a
changed abstract, prompt version or model is a miss). Only answers that validated are stored.
A cache file that SQLite cannot read is renamed `*.corrupt-<time>` and a new one is started.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY, prompt TEXT NOT NULL, model TEXT NOT NULL, answer TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, created REAL NOT NULL)"""


def cache_key(prompt_ref: str, model: str, params: dict, messages: list[dict]) -> str:
    """SHA-256 hex digest of the call's prompt id@version, model, parameters and messages."""
    blob = json.dumps([prompt_ref, model, params, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class AnswerCache:
    """Validated answers by cache_key(); `path=None` keeps them in memory only."""

    def __init__(self, path: Path | None):
        self.path = path
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            db = sqlite3.connect(":memory:")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path)
        try:
            db.execute(_SCHEMA)
            db.execute("SELECT count(*) FROM answers").fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.replace(aside)
            log.warning("LLM cache %s is unreadable (%s): set aside as %s", self.path, exc, aside.name)
            db = sqlite3.connect(self.path)
            db.execute(_SCHEMA)
        return db

    def get(self, key: str) -> tuple[str, int, int] | None:
        """(answer text, prompt tokens, completion tokens) stored under `key`, or None."""
        return self._db.execute(
            "SELECT answer, prompt_tokens, completion_tokens FROM answers WHERE key = ?", (key,)
        ).fetchone()

    def put(self, key: str, prompt_ref: str, model: str, answer: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Store one validated answer; committed at once so a killed run keeps it."""
        self._db.execute(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, prompt_ref, model, answer, prompt_tokens, completion_tokens, time.time()),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
