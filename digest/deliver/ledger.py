"""The sent ledger, `<data>/sent.json`: per day and per notification target, what was sent and when,
so that a rerun of a day sends nothing again.

A target is kept under `target_id`, a hash of its Apprise URL, never the URL itself: the URL holds
passwords and tokens. Only deliveries that succeeded are recorded, so a target that failed is
tried again at the next run. The file is replaced atomically after every delivery, so a run
killed midway still remembers the targets it reached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from digest.files import write_atomic

LEDGER_FILE = "sent.json"
ID_CHARS = 16  # hex digits of the URL's SHA-256 kept: 64 bits tell a handful of targets apart


class LedgerError(Exception):
    """`<data>/sent.json` exists but cannot be read: nothing is sent, since what was already sent is unknown."""


class Sent(BaseModel):
    """One delivery: when (UTC), in which form ("email" or "chat"), under which subject, linking which page."""

    sent_at: dt.datetime
    kind: Literal["email", "chat"]
    subject: str
    page: str


# day -> target_id -> the delivery; in the file the day is YYYY-MM-DD
Entries = dict[dt.date, dict[str, Sent]]
_ENTRIES = TypeAdapter(Entries)


def target_id(url: str) -> str:
    """The ledger's name for the target at Apprise URL `url`: the first ID_CHARS hex digits of its
    SHA-256, which names it in the run report too without giving away what the URL holds."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:ID_CHARS]


class Ledger:
    """The deliveries recorded in `<data>/sent.json`; `Ledger.open(data)` reads it."""

    def __init__(self, path: Path, entries: Entries) -> None:
        self.path, self.entries = path, entries

    @classmethod
    def open(cls, data: Path) -> Ledger:
        """The ledger under the data folder `data` (empty when the file does not exist yet). Raises
        LedgerError naming the file when it cannot be read or is not a ledger."""
        path = data / LEDGER_FILE
        try:
            return cls(path, _ENTRIES.validate_json(path.read_bytes()))
        except FileNotFoundError:
            return cls(path, {})
        except (OSError, ValidationError) as exc:  # ValidationError: not JSON, or JSON of another shape
            reason = exc.strerror if isinstance(exc, OSError) else "not a ledger of deliveries"
            raise LedgerError(
                f"{path} cannot be read ({reason}); repair or remove it to send notifications again"
            ) from exc

    def sent(self, day: dt.date, target: str) -> Sent | None:
        """What was sent to `target` (a target_id) for `day`, or None."""
        return self.entries.get(day, {}).get(target)

    def record(self, day: dt.date, target: str, sent: Sent) -> None:
        """Record that `sent` reached `target` (a target_id) for `day`, and write the file atomically.
        Raises OSError when it cannot be written."""
        self.entries.setdefault(day, {})[target] = sent
        write_atomic(self.path, _ENTRIES.dump_json(self.entries, indent=1) + b"\n")
