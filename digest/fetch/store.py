"""Raw responses kept per date, and replay of a stored snapshot with no network.

Layout: `<root>/<YYYY-MM-DD>/index.json` lists every response (source name, URL, status,
content type, time, error, file); the bodies sit beside it as `<name>.body`. The same layout is
written by a live run and read by `--snapshot`, so any stored day can be replayed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from pydantic import BaseModel, Field

from digest.files import write_atomic


class RawResponse(BaseModel):
    """One HTTP response as received (or the reason there is none)."""

    name: str
    url: str
    status: int = 0
    content_type: str = ""
    body: bytes = Field(b"", exclude=True)
    fetched_at: dt.datetime
    error: str | None = None
    etag: str | None = None  # validators for the next conditional GET
    last_modified: str | None = None
    stale_from: dt.date | None = None  # set when `body` is the last good copy, stored on that date
    failures: int = 0  # consecutive failed fetches of this source, this one included


def file_name(name: str) -> str:
    """The file a source's body is stored in: `name` with every run of other characters than
    letters, digits, '.', '_' and '-' made one '-', plus ".body" ("feed-Open AI" -> "feed-Open-AI.body").
    Two names may map to one file: the configuration refuses such feed names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") + ".body"


class SnapshotStore:
    """Reads and writes the raw responses of one date under `root`."""

    def __init__(self, root: Path, date: dt.date):
        self.root, self.date = root, date
        self.dir = root / date.isoformat()

    def _index(self) -> dict[str, dict]:
        path = self.dir / "index.json"
        if not path.exists():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    def save(self, resp: RawResponse) -> None:
        """Store `resp` (body and index entry), replacing an earlier response of the same name."""
        file = file_name(resp.name)
        write_atomic(self.dir / file, resp.body)
        index = self._index()
        index[resp.name] = resp.model_dump(mode="json") | {"file": file}
        write_atomic(self.dir / "index.json", json.dumps(index, indent=2, sort_keys=True))

    def load(self, name: str) -> RawResponse | None:
        """The stored response for source `name`, or None when the snapshot has none."""
        entry = self._index().get(name)
        if entry is None:
            return None
        body = (self.dir / entry.pop("file")).read_bytes()
        return RawResponse.model_validate(entry).model_copy(update={"body": body})
