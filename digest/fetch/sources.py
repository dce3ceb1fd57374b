"""Where raw responses come from: the network (and then stored), or a stored snapshot.

Both speak `get(name, url) -> RawResponse`, so the parsers never know which one they use.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Callable, Protocol

import httpx

from digest.fetch import http
from digest.fetch.store import RawResponse, SnapshotStore


class Source(Protocol):
    live: bool

    def get(self, name: str, url: str) -> RawResponse: ...


class LiveSource:
    """Fetches over HTTP and keeps every response in `store`."""

    live = True

    def __init__(self, client: httpx.Client, store: SnapshotStore):
        self.client, self.store = client, store
        self._store_lock = threading.Lock()  # feeds are fetched in parallel; the index is one file

    def get(self, name: str, url: str) -> RawResponse:
        resp = http.get(self.client, name, url)
        with self._store_lock:
            self.store.save(resp)
        return resp


class ReplaySource:
    """Serves responses from a stored snapshot; never touches the network."""

    live = False

    def __init__(self, store: SnapshotStore):
        self.store = store

    def get(self, name: str, url: str) -> RawResponse:
        resp = self.store.load(name)
        if resp is None:
            return RawResponse(
                name=name, url=url, fetched_at=dt.datetime.now(dt.timezone.utc),
                error="not in the snapshot",
            )
        return resp


class Pacer:
    """At most one request per `interval` seconds (arXiv's API terms: one every 3 s).

    `clock` and `sleep` are injectable so tests can check the schedule without waiting.
    """

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            self.sleep(self.interval - (now - self._last))
        self._last = self.clock()
