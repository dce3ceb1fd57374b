"""What one request to one source gave, read the same way for every source: `SourceResult` (the
parsed items, the source's status and the stored response they came from), `SourceError` (the
base of each format's error class) and `fetch_source`, the one get -> check -> parse -> status
path that the arXiv feeds and API, OAI-PMH, news feeds, Hugging Face upvotes and full texts take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from digest.fetch.sources import Check, Pacer, Source, paced_get
from digest.fetch.store import RawResponse
from digest.models import SourceStatus

T = TypeVar("T")


class SourceError(Exception):
    """A body its parser cannot use: not the expected format, or the service's own error answer.
    Each format raises its own subclass (ArxivError, OaiError, FeedError, UpvotesError, FulltextError)."""


@dataclass(frozen=True)
class SourceResult(Generic[T]):
    """What one source gave.

    `items` is what the parser read (from the last good copy when the status is "stale"), or None
    when nothing usable came; `status` is the source's SourceStatus; `response` is the name its raw
    response is stored under, the snapshot entry a replay reads.
    """

    items: T | None
    status: SourceStatus
    response: str


def as_received(resp: RawResponse) -> str | None:
    """A failed response's error as the HTTP client worded it (the default `explain`)."""
    return resp.error


def fetch_source(
    source: Source,
    name: str,
    url: str,
    parse: Callable[[RawResponse], T],
    count: Callable[[T], int],
    *,
    label: str | None = None,
    pacer: Pacer | None = None,
    check: Check | None = None,
    explain: Callable[[RawResponse], str | None] = as_received,
) -> SourceResult[T]:
    """Get `url` as the stored response `name`, parse it and say how it went; never raises for a
    bad response.

    The request waits for its turn of `pacer` when one is given (arXiv hosts); `check` is the
    Source's body check (news feeds: conditional GET and the last good copy). `parse` reads the
    response into items and raises SourceError for a body it cannot use; `count` says how many
    items a parse holds. The status is named `label` (default `name`) with `url`, and is "failed"
    (an error, worded by `explain`: a 410 asks different things of different sources; or a body
    `parse` refuses), "stale" (an error, with the last good copy parsed instead), "not_modified"
    (a 304), else "ok", or "empty" when `count` is 0.
    """
    resp = source.get(name, url, check) if pacer is None else paced_get(source, pacer, name, url, check)
    status = SourceStatus(source=label or name, url=url, state="failed", failures=resp.failures)
    if resp.error and resp.stale_from is None:
        return SourceResult(None, status.model_copy(update={"reason": explain(resp)}), name)
    try:
        items = parse(resp)
    except SourceError as exc:
        return SourceResult(None, status.model_copy(update={"reason": str(exc)}), name)
    n = count(items)
    return SourceResult(items, status.model_copy(update={"items": n, **_state(resp, n)}), name)


def _state(resp: RawResponse, items: int) -> dict:
    """The status fields of a response whose body parsed into `items` items."""
    if resp.stale_from is not None:
        return {
            "state": "stale",
            "stale_from": resp.stale_from,
            "reason": f"{resp.error}; showing the copy fetched on {resp.stale_from.isoformat()}",
        }
    return {"state": "not_modified" if resp.status == 304 else "ok" if items else "empty"}
