"""What the fetch stage remembers about each source between runs: `<data>/sources.json`.

Per source name: the URL it was fetched from, the validators of the last good response (ETag,
Last-Modified, for conditional GET), the date of the snapshot that holds that response (so a
304 or a failure can reuse its body), and how many fetches in a row have failed. A missing or
unreadable file means an empty ledger: the next run simply fetches everything in full.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from pydantic import BaseModel, ValidationError

from digest.files import write_atomic

log = logging.getLogger(__name__)

# Three failed runs in a row: the source is flagged in the run report (Miniflux uses the same limit).
FLAG_AFTER_FAILURES = 3


class SourceRecord(BaseModel):
    """One source's memory; `last_good` is the date of the snapshot holding its last good body."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_good: dt.date | None = None
    failures: int = 0

    def validators(self) -> dict[str, str]:
        """Conditional-GET request headers (empty without a stored body to fall back on)."""
        if self.last_good is None:
            return {}
        headers = {"If-None-Match": self.etag} if self.etag else {}
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class Ledger:
    """The records of every source, read from and written back to `path` (atomically)."""

    def __init__(self, path: Path):
        self.path = path
        self.records: dict[str, SourceRecord] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.records = {name: SourceRecord.model_validate(rec) for name, rec in raw.items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError, ValidationError) as exc:
            log.warning("%s is unreadable (%s); every source is fetched in full", path, exc)

    def get(self, name: str, url: str) -> SourceRecord | None:
        """The record of `name`, or None when there is none or it was for another URL."""
        record = self.records.get(name)
        return record if record is not None and record.url == url else None

    def put(self, name: str, record: SourceRecord) -> None:
        self.records[name] = record
        write_atomic(
            self.path, json.dumps({n: r.model_dump(mode="json") for n, r in sorted(self.records.items())}, indent=1)
        )
