"""The archive index: what the archive pages, the feeds and "covered earlier" need of every published
day, in SQLite in the data folder (`<data>/archive-index.sqlite`), so that a build reads one small
file instead of every day's digest.json (ten years are 3,650 files, 1.5 GB in memory as Digests:
bench/archive.py).

It is derived data; the day folders' digest.json files stay the source of truth. Per day it keeps an
ArchiveDay (digest.render.site: counts, headlines, the feed entry's summary and time), the papers
written up with their abstract hashes (digest.select.papers.writeups) and their entries in
papers.xml (digest.render.feeds.PaperEntry), with the mtime and size of the digest.json they were
read from. `sync` reads a day again whose digest.json differs from that, adds a day folder it does
not know (copied in by hand) and drops one that is gone (removed by hand); a missing index is built
whole, once. Publishing a day (digest.render.publish) stages its record in a
transaction that is committed after the day is switched in and rolled back when the publication is
dropped; a run killed between the two leaves the older record, which the next sync finds stale.

A file SQLite cannot read, or of a newer schema, is set aside as `*.corrupt-<time>` and built again
from the site: nothing in it is lost. The schema version is `PRAGMA user_version`, upgraded by the
numbered MIGRATIONS as the LLM cache's is (digest.llm.cache); a change to what is derived from a
digest (ArchiveDay.of, digest.select.papers.writeups, PaperEntry.of) appends a migration that empties
`days` and `writeups` (and `papers`), so that every day is read again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from digest.models import Digest, Paper
from digest.render.feeds import PaperEntry, paper_entries
from digest.render.site import ArchiveDay, SiteError, day_names, left_out, read_day
from digest.select.papers import latest_writeups, writeups

INDEX_FILE = "archive-index.sqlite"
log = logging.getLogger(__name__)

# MIGRATIONS[n] takes an index from schema version n to n + 1. Append only; never edit one.
MIGRATIONS = (
    # One row per day; the columns after mtime_ns and size are ArchiveDay's fields.
    """CREATE TABLE days (
    date TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, generated_at TEXT NOT NULL,
    papers INTEGER NOT NULL, articles INTEGER NOT NULL, topics INTEGER NOT NULL, no_mailing TEXT,
    backfilled INTEGER NOT NULL, paper_titles TEXT NOT NULL, topic_titles TEXT NOT NULL, summary TEXT NOT NULL)""",
    # The papers each day wrote up, looked up by arXiv id for "covered earlier".
    """CREATE TABLE writeups (
    arxiv_id TEXT NOT NULL, date TEXT NOT NULL, abstract_hash TEXT NOT NULL, PRIMARY KEY (arxiv_id, date))
    WITHOUT ROWID""",
    # A day's write-ups are replaced or dropped by its date.
    "CREATE INDEX writeups_by_date ON writeups (date)",
    # What every sync reads of every day, without the rest of its row (a summary is kilobytes).
    "CREATE INDEX days_stamps ON days (date, mtime_ns, size)",
    # papers.xml's entries: each day's papers in page order (`position`); the columns after it are
    # PaperEntry's fields but `why`.
    """CREATE TABLE papers (
    date TEXT NOT NULL, position INTEGER NOT NULL, arxiv_id TEXT NOT NULL, title TEXT NOT NULL, summary TEXT NOT NULL,
    categories TEXT NOT NULL, generated_at TEXT NOT NULL, PRIMARY KEY (date, position)) WITHOUT ROWID""",
    # Every day is read again, for its papers; its write-ups go too, or those of a day removed by
    # hand meanwhile would be left behind.
    "DELETE FROM days",
    "DELETE FROM writeups",
    # for-you.xml: why the reader profile chose a paper; every day is read again to fill it.
    "ALTER TABLE papers ADD COLUMN why TEXT NOT NULL DEFAULT ''",
    "DELETE FROM days",
    "DELETE FROM writeups",
)
SCHEMA_VERSION = len(MIGRATIONS)
_COLUMNS = ", ".join(f.name for f in dataclasses.fields(ArchiveDay))
_PAPER_COLUMNS = "date, arxiv_id, title, summary, categories, generated_at, why"
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # another process holds the file: not damage


class Stamp(NamedTuple):
    """What a digest.json looked like when it was read: st_mtime_ns (nanoseconds) and st_size (bytes)."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: str | Path) -> Stamp:
        """The stamp of `path` now; raises OSError (FileNotFoundError when there is no such file)."""
        st = os.stat(path)
        return cls(st.st_mtime_ns, st.st_size)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: committed when the block ends, rolled back when it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def migrate(db: sqlite3.Connection) -> int:
    """Bring `db` to SCHEMA_VERSION, every pending migration in one transaction (a killed upgrade leaves
    the file at the version it had; one commit, where one per migration took a new file 0.6 s of disk
    syncs); returns the version it had. Raises sqlite3.DatabaseError for a file of a newer schema than
    this code knows."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema version {version}, newer than this digest's {SCHEMA_VERSION}")
    if version < SCHEMA_VERSION:
        with _transaction(db):
            for migration in MIGRATIONS[version:]:
                db.execute(migration)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return version


def index_path(data: Path | None) -> Path | None:
    """Where the archive index of a site lives: INDEX_FILE in its data folder `data` (None: nowhere,
    the index is kept in memory)."""
    return None if data is None else data / INDEX_FILE


class ArchiveIndex:
    """The archive index at `path` (None: in memory, so every sync reads every day), opened and
    migrated; `sync` it with the site before reading it. Close it, or use it in a `with` block.
    Raises sqlite3.OperationalError when another process keeps the file locked past SQLite's timeout."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            db = sqlite3.connect(":memory:", isolation_level=None)  # transactions are begun explicitly
            migrate(db)
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            migrate(db)
            db.execute(f"SELECT {_COLUMNS} FROM days LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            db.close()
            if getattr(exc, "sqlite_errorcode", None) in _BUSY:
                raise
            self._set_aside(exc)
            db = sqlite3.connect(self.path, isolation_level=None)
            migrate(db)
        return db

    def _set_aside(self, reason: sqlite3.DatabaseError) -> None:
        """Rename the unreadable file (and its rollback journal, which must not be replayed into the
        new one) to `*.corrupt-<time>`."""
        assert self.path is not None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        self.path.replace(aside)
        journal = self.path.with_name(self.path.name + "-journal")
        if journal.exists():
            journal.replace(aside.with_name(aside.name + "-journal"))
        log.warning("archive index %s is unreadable (%s): set aside as %s, built again", self.path, reason, aside.name)

    def sync(self, output: Path) -> set[dt.date]:
        """Bring the index in line with the day folders of `output` (site.day_names); returns the
        dates whose record changed: added, read again or dropped.

        A day folder whose digest.json is missing beside its page, unreadable or of another date is
        left out with a warning (as load_digests does) and tried again at the next sync.
        """
        recorded = {date: Stamp(m, s) for date, m, s in self._db.execute("SELECT date, mtime_ns, size FROM days")}
        root = os.fspath(output)  # strings, not Paths: this runs for every day at every build
        found = {name: _stamp(f"{root}/{name}/digest.json") for name in day_names(output)}
        changed = set(recorded) - set(found)
        with _transaction(self._db):
            for date in changed:
                self._drop(date)
            for date, stamp in found.items():
                if (stamp is None or stamp != recorded.get(date)) and self._read(
                    output / date, stamp, date in recorded
                ):
                    changed.add(date)
        return {dt.date.fromisoformat(date) for date in changed}

    def _read(self, folder: Path, stamp: Stamp | None, recorded: bool) -> bool:
        """Record the day of `folder`, whose digest.json had `stamp` before it was read (None: there
        was none), or drop it when it cannot be read; returns whether its record changed."""
        try:
            digest = read_day(folder)
        except SiteError as exc:
            left_out(str(exc))
            digest = None
        if digest is None or stamp is None:  # not a day, or its file came after the stamp: the next sync reads it
            self._drop(folder.name)
            return recorded
        self._put(digest, stamp)
        return True

    def _drop(self, date: str) -> None:
        for table in ("days", "writeups", "papers"):
            self._db.execute(f"DELETE FROM {table} WHERE date = ?", (date,))

    def _put(self, digest: Digest, stamp: Stamp) -> None:
        self._drop(digest.date.isoformat())
        row = _row(ArchiveDay.of(digest))
        self._db.execute(
            f"INSERT INTO days (mtime_ns, size, {_COLUMNS}) VALUES ({', '.join('?' * (2 + len(row)))})", (*stamp, *row)
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO writeups (date, arxiv_id, abstract_hash) VALUES (?, ?, ?)",
            [(date.isoformat(), arxiv_id, hashed) for date, arxiv_id, hashed in writeups(digest)],
        )
        self._db.executemany(
            f"INSERT INTO papers (position, {_PAPER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (n, *(_column(getattr(e, c)) for c in _PAPER_COLUMNS.split(", ")))
                for n, e in enumerate(paper_entries(digest))
            ],
        )

    def stage(self, digest: Digest, stamp: Stamp) -> None:
        """Record `digest`, whose digest.json has `stamp`, in a transaction that `commit` ends (or
        `rollback`); until then only this connection sees it."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
        self._put(digest, stamp)

    def commit(self) -> None:
        """Commit what was staged; a no-op when nothing was."""
        self._db.commit()

    def rollback(self) -> None:
        """Forget what was staged; a no-op when nothing was."""
        self._db.rollback()

    def days(self, year: int | None = None, limit: int = -1) -> list[ArchiveDay]:
        """The archive's days, or those of `year`, newest first; at most `limit` of them (-1: all)."""
        low, high = (f"{year:04d}-01-01", f"{year:04d}-12-31") if year is not None else ("0000-01-01", "9999-12-31")
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM days WHERE date BETWEEN ? AND ? ORDER BY date DESC LIMIT ?", (low, high, limit)
        )
        return [_day(row) for row in rows]

    def papers(self, days: int, limit: int, chosen: bool = False) -> list[PaperEntry]:
        """The papers written up on the newest `days` days of the archive, newest day first and each
        day's in page order; at most `limit` of them; with `chosen`, only those a reader profile
        scored (with a `why`)."""
        rows = self._db.execute(
            f"SELECT {_PAPER_COLUMNS} FROM papers"
            " WHERE date >= (SELECT min(date) FROM (SELECT date FROM days ORDER BY date DESC LIMIT ?))"
            + (" AND why != ''" if chosen else "")
            + " ORDER BY date DESC, position LIMIT ?",
            (days, limit),
        )
        return [_paper(row) for row in rows]

    def years(self) -> dict[int, int]:
        """Year -> number of days in the archive."""
        return {int(y): n for y, n in self._db.execute("SELECT substr(date, 1, 4), count(*) FROM days GROUP BY 1")}

    def neighbours(self, date: dt.date) -> tuple[dt.date | None, dt.date | None]:
        """The archive's days just before and just after `date` (None at either end)."""
        day = date.isoformat()
        before = self._db.execute("SELECT max(date) FROM days WHERE date < ?", (day,)).fetchone()[0]
        after = self._db.execute("SELECT min(date) FROM days WHERE date > ?", (day,)).fetchone()[0]
        return _date(before), _date(after)

    def earlier_writeups(self, arxiv_ids: Iterable[str], before: dt.date) -> dict[str, tuple[dt.date, str]]:
        """For those of `arxiv_ids` that a day before `before` wrote up: arXiv id -> (the latest such
        day, the abstract hash there), by digest.select.papers.latest_writeups."""
        rows = self._db.execute(
            "SELECT date, arxiv_id, abstract_hash FROM writeups WHERE arxiv_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(arxiv_ids)),),
        )
        return latest_writeups(((dt.date.fromisoformat(d), a, h) for d, a, h in rows), before)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ArchiveIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def writeups_before(
    output: Path, data: Path | None, papers: Iterable[Paper], before: dt.date
) -> dict[str, tuple[dt.date, str]]:
    """select_papers' `earlier` for the day `before`: arXiv id -> (the latest earlier day of the site
    `output` that wrote the paper up, the abstract hash there), for those of `papers` that one did.
    Read from the archive index of the data folder `data`, synced first (None: built in memory)."""
    with ArchiveIndex(index_path(data)) as index:
        index.sync(output)
        return index.earlier_writeups((p.arxiv_id for p in papers), before)


def _row(day: ArchiveDay) -> tuple:
    """`day` as the values of the days table's ArchiveDay columns (_COLUMNS, in field order): dates
    and times in ISO 8601, the title lists as JSON arrays."""
    return tuple(_column(getattr(day, f.name)) for f in dataclasses.fields(day))


def _column(value: object) -> object:
    if isinstance(value, dt.date):  # a datetime too
        return value.isoformat()
    if isinstance(value, tuple):
        return json.dumps(value, ensure_ascii=False)
    return value


def _stamp(path: str) -> Stamp | None:
    """The stamp of a day folder's digest.json at `path`, or None when there is none."""
    try:
        return Stamp.of(path)
    except FileNotFoundError:
        return None


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _day(row: tuple) -> ArchiveDay:
    """The ArchiveDay of a row of _COLUMNS."""
    date, generated_at, papers, articles, topics, no_mailing, backfilled, paper_titles, topic_titles, summary = row
    return ArchiveDay(
        date=dt.date.fromisoformat(date),
        generated_at=dt.datetime.fromisoformat(generated_at),
        papers=papers,
        articles=articles,
        topics=topics,
        no_mailing=no_mailing,
        backfilled=bool(backfilled),
        paper_titles=tuple(json.loads(paper_titles)),
        topic_titles=tuple(json.loads(topic_titles)),
        summary=summary,
    )


def _paper(row: tuple) -> PaperEntry:
    """The PaperEntry of a row of _PAPER_COLUMNS."""
    date, arxiv_id, title, summary, categories, generated_at, why = row
    return PaperEntry(
        date=dt.date.fromisoformat(date),
        arxiv_id=arxiv_id,
        title=title,
        summary=summary,
        categories=tuple(json.loads(categories)),
        generated_at=dt.datetime.fromisoformat(generated_at),
        why=why,
    )
