"""Where raw responses come from: the network (and then stored), or a stored snapshot.

Both speak `get(name, url, check) -> RawResponse`, so the parsers never know which one they use;
a replay gives back exactly what the live run stored, stale fallbacks included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Protocol

import httpx

from digest.fetch import http
from digest.fetch.ledger import Ledger, SourceRecord
from digest.fetch.store import RawResponse, SnapshotStore

# Checks a fetched body: None when it is usable, else what is wrong with it ("not a feed").
Check = Callable[[bytes], "str | None"]
# The error of a response a replayed snapshot does not hold.
NOT_STORED = "not in the snapshot"


class Source(Protocol):
    live: bool

    @property
    def date(self) -> dt.date:
        """The one day whose responses this source stores or replays."""
        ...

    def get(self, name: str, url: str, check: Check | None = None) -> RawResponse: ...


class LiveSource:
    """Fetches over HTTP under `policy` and keeps every response in `store`.

    Sources fetched with a `check` (news feeds) are remembered in a Ledger beside the snapshots:
    they are fetched with conditional GET, a 304 reuses the last good body, and a failure (an
    error, or a body the check rejects) falls back to that body, marked `stale_from` its date.
    At most `per_host` requests run against one host at a time.
    """

    live = True

    def __init__(
        self, client: httpx.Client, store: SnapshotStore, policy: http.Policy | None = None, per_host: int = 2
    ):
        self.client, self.store, self.policy, self.per_host = client, store, policy or http.Policy(), per_host
        self.ledger = Ledger(store.root / "sources.json")
        self._lock = threading.Lock()  # feeds are fetched in parallel; the index and ledger are shared files
        self._hosts: dict[str, threading.Semaphore] = {}

    @property
    def date(self) -> dt.date:
        return self.store.date

    def _host_slot(self, url: str) -> threading.Semaphore:
        host = urllib.parse.urlsplit(url).hostname or ""
        with self._lock:
            return self._hosts.setdefault(host, threading.Semaphore(self.per_host))

    def get(self, name: str, url: str, check: Check | None = None) -> RawResponse:
        with self._lock:
            record = self.ledger.get(name, url) if check else None
        headers = record.validators() if record else {}
        with self._host_slot(url):
            resp = http.get(self.client, name, url, self.policy, headers)
        with self._lock:
            if check:
                resp = self._remember(name, url, resp, record, check)
            self.store.save(resp)
        return resp

    def _remember(
        self, name: str, url: str, resp: RawResponse, record: SourceRecord | None, check: Check
    ) -> RawResponse:
        """Resolve a 304 or a failure against the last good body, and update the ledger."""
        last_good = record.last_good if record else None
        last = SnapshotStore(self.store.root, last_good).load(name) if last_good else None
        if resp.status == 304 and last is not None:
            resp = resp.model_copy(update={"body": last.body, "content_type": last.content_type})
        problem = resp.error or ("304 without a stored copy" if resp.status == 304 and last is None else None)
        problem = problem or check(resp.body)
        if problem is None:
            self.ledger.put(
                name,
                SourceRecord(
                    url=url,
                    etag=resp.etag or (record and record.etag),
                    last_modified=resp.last_modified or (record and record.last_modified),
                    last_good=self.store.date,
                ),
            )
            return resp
        failures = (record.failures if record else 0) + 1
        self.ledger.put(name, (record or SourceRecord(url=url)).model_copy(update={"failures": failures}))
        if last is None:
            return resp.model_copy(update={"error": problem, "failures": failures, "body": b""})
        return resp.model_copy(
            update={
                "error": problem,
                "failures": failures,
                "body": last.body,
                "content_type": last.content_type,
                "stale_from": last_good,
            }
        )


class ReplaySource:
    """Serves responses from a stored snapshot; never touches the network."""

    live = False

    def __init__(self, store: SnapshotStore):
        self.store = store

    @property
    def date(self) -> dt.date:
        return self.store.date

    def get(self, name: str, url: str, check: Check | None = None) -> RawResponse:
        resp = self.store.load(name)
        if resp is None:
            return RawResponse(name=name, url=url, fetched_at=dt.datetime.now(dt.UTC), error=NOT_STORED)
        return resp


class Pacer:
    """At most one request per `interval` seconds (arXiv's API terms: one every 3 s, one
    connection), counted from when the previous response ended.

    Counting from the end rather than from when the previous request was sent keeps the gap that
    arXiv sees between two arrivals at `interval` or more, however long connecting takes.
    `clock` and `sleep` are injectable so tests can check the schedule without waiting.
    """

    def __init__(
        self, interval: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self._last: float | None = None  # when the previous paced request ended
        self._one = threading.Lock()  # one paced request at a time

    def wait(self) -> None:
        """Sleep until `interval` seconds have passed since the previous request ended."""
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            self.sleep(self.interval - (now - self._last))

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """The block is one paced request: it starts after `wait()` and, when it ends (answered or
        not), starts the next interval."""
        with self._one:
            self.wait()
            try:
                yield
            finally:
                self._last = self.clock()


def paced_get(source: Source, pacer: Pacer, name: str, url: str, check: Check | None = None) -> RawResponse:
    """`source.get(name, url, check)`, in its turn of `pacer` when it goes to the network (every
    arXiv host shares one pacer: the terms allow one request every 3 s); a replay never waits."""
    if not source.live:
        return source.get(name, url, check)
    with pacer.turn():
        return source.get(name, url, check)
