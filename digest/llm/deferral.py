"""Deferring requests to a batch: the client records a request it cannot answer from the cache
instead of sending it, and the section asking for it fails with `Deferred`.

A run of the write stage under a `Deferral` (LLMClient.deferral) thus collects every request of the
day that does not wait for another answer; digest.llm.batch sends them as a provider batch or
writes them for a batch runner. A request that waits for a deferred answer would be asked with a
fallback in its place (a paper ranking without scores, a topic grouping by source): `watched` tells
the caller whether anything under an awaitable was deferred, so it can skip what depends on it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from digest.llm.request import LLMError, Request

T = TypeVar("T")


class Deferred(LLMError):
    """The request was recorded for a batch instead of being sent: its section is written once the
    batch's answer is in the cache."""


@dataclass
class _Watch:
    deferred: int = 0  # requests deferred while the watched awaitable ran


# The watches open in the current task; tasks started under a watch inherit it (asyncio copies the
# context into every new task), so a request deferred in any of them counts for the watch.
_WATCHES: ContextVar[tuple[_Watch, ...]] = ContextVar("deferral_watches", default=())


class Deferral:
    """The requests deferred so far, by cache key, in the order they were first asked.

    `resend_failed`: a request a batch answered with an error is deferred again (for a runner export,
    where no live endpoint may exist) rather than sent live (a provider batch's partial failure).
    """

    def __init__(self, resend_failed: bool = False):
        self.resend_failed = resend_failed
        self.requests: dict[str, Request] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.requests

    def record(self, request: Request) -> Deferred:
        """Record `request` (once per key) and return the Deferred its caller raises."""
        self.requests.setdefault(request.key, request)
        for watch in _WATCHES.get():
            watch.deferred += 1
        return Deferred(f"{request.model}: deferred to a batch ({request.prompt_ref})")


async def watched(coroutine: Coroutine[Any, Any, T]) -> tuple[T, bool]:
    """`coroutine`'s result, and whether a request made while it ran (in the tasks it started too)
    was deferred. Requests of concurrent siblings outside it do not count. A coroutine, not a future:
    tasks (asyncio.gather's) take their context when they are created, before the watch starts."""
    watch = _Watch()
    token = _WATCHES.set((*_WATCHES.get(), watch))
    try:
        result = await coroutine
    finally:
        _WATCHES.reset(token)
    return result, watch.deferred > 0
