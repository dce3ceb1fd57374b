"""Raw responses kept per date, and replay of a stored snapshot with no network.

Layout: `<root>/<YYYY-MM-DD>/index.json` lists every response (source name, URL, status,
content type, time, error, file); the bodies sit beside it, one file per source name (`file_name`).
The same layout is written by a live run and read by `--snapshot`, so any stored day can be
replayed: the index says which file holds each body, so snapshots stored under an earlier file
naming replay as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    body: bytes = Field(default=b"", exclude=True)  # a keyword default: type checkers see it
    fetched_at: dt.datetime
    error: str | None = None
    etag: str | None = None  # validators for the next conditional GET
    last_modified: str | None = None
    stale_from: dt.date | None = None  # set when `body` is the last good copy, stored on that date
    failures: int = 0  # consecutive failed fetches of this source, this one included


# Names kept as they are: a file name on every file system, and no other name can map to it.
_PLAIN = re.compile(r"[a-z0-9][a-z0-9._-]*")


def file_name(name: str) -> str:
    """The file a source's body is stored in, a different file for every name.

    A name of lowercase letters, digits, '.', '_' and '-' (starting with a letter or digit) keeps
    its spelling ("arxiv-api" -> "arxiv-api.body"). Any other name has every run of other
    characters made one '-', then '+' and the first 8 hex digits of the SHA-256 of the exact name
    ("feed-Open AI" -> "feed-Open-AI+" + 8 hex digits + ".body"): names that read alike ("Open AI",
    "Open-AI"), or differ only in case on a case-insensitive file system, still get files of their own.
    """
    if _PLAIN.fullmatch(name):
        return name + ".body"
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    return f"{readable}+{hashlib.sha256(name.encode()).hexdigest()[:8]}.body"


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
        """Store `resp` (body and index entry), replacing an earlier response of the same name
        (and its body, when an earlier file naming stored it in another file)."""
        file = file_name(resp.name)
        write_atomic(self.dir / file, resp.body)
        index = self._index()
        earlier = index.get(resp.name, {}).get("file")
        index[resp.name] = resp.model_dump(mode="json") | {"file": file}
        write_atomic(self.dir / "index.json", json.dumps(index, indent=2, sort_keys=True))
        if earlier and earlier != file:
            self._drop_unreferenced(earlier, index)

    def _drop_unreferenced(self, file: str, index: dict[str, dict]) -> None:
        """Delete `file`, a body stored under an earlier file naming, when no entry of `index` refers
        to it any more (a plain file name only: the index is data, not a path to follow)."""
        if file == Path(file).name and file not in {entry.get("file") for entry in index.values()}:
            (self.dir / file).unlink(missing_ok=True)

    def load(self, name: str) -> RawResponse | None:
        """The stored response for source `name`, or None when the snapshot has none."""
        entry = self._index().get(name)
        if entry is None:
            return None
        body = (self.dir / entry.pop("file")).read_bytes()
        return RawResponse.model_validate(entry).model_copy(update={"body": body})
