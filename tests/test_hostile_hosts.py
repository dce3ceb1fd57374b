"""The fetch client against hosts that redirect, rebind, bomb, refuse or lie (fault catalogue F2,
F4–F9), and the conditional-GET and stale-copy memory between runs — real servers on 127.0.0.1."""

import datetime as dt
import gzip
import socket
import threading
import tracemalloc

import pytest
from conftest import DEMO_SNAPSHOT
from servers import Server

from digest.config import FeedConfig, NewsConfig
from digest.fetch import http
from digest.fetch.feeds import fetch_news
from digest.fetch.sources import LiveSource, ReplaySource
from digest.fetch.store import SnapshotStore

DAY = dt.date(2026, 4, 30)
FEED = SnapshotStore(DEMO_SNAPSHOT, DAY).load("feed-OpenAI News").body
CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"
)


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def secret():
    """A second local server that nothing may reach: it is not allowlisted."""
    srv = Server()
    srv.routes["/"] = (200, {}, b"internal secret")
    yield srv
    srv.close()


def policy(server: Server, **kw) -> http.Policy:
    return http.Policy(allow_private=frozenset({f"127.0.0.1:{server.port}"}), **kw)


def fetch(server: Server, path: str, **kw):
    with http.make_client() as client:
        return http.get(client, "t", server.base + path, policy(server, **kw))


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{secret}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{secret}/",
        "http://localhost:{secret}/",
    ],
)
def test_a_redirect_into_private_space_is_refused_before_connecting(server, secret, target):  # F5
    server.routes["/r"] = (302, {"Location": target.format(secret=secret.port)}, b"")
    resp = fetch(server, "/r")
    assert "non-public address" in resp.error and resp.body == b""
    assert secret.requests == []


def test_an_unlisted_private_host_is_refused_without_a_redirect(secret):  # F5
    with http.make_client() as client:
        resp = http.get(client, "t", f"{secret.base}/")
    assert "resolves to the non-public address 127.0.0.1" in resp.error and secret.requests == []


def test_a_host_that_rebinds_to_a_private_address_is_dropped_before_its_body(secret, monkeypatch):  # F5
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1"])  # public when checked, private when connecting

    def rebinding(host, port, *args, **kw):
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with http.make_client() as client:
        resp = http.get(client, "t", f"http://rebind.test:{secret.port}/")
    assert "connected to the non-public address 127.0.0.1" in resp.error and resp.body == b""


def test_redirect_loops_stop_after_five_hops(server):  # F6
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    resp = fetch(server, "/loop")
    assert resp.error == "more than 5 redirects" and server.hits("/loop") == 6


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.com/feed", "javascript:alert(1)"])
def test_redirects_to_other_schemes_are_refused(server, location):  # F6
    server.routes["/r"] = (301, {"Location": location}, b"")
    resp = fetch(server, "/r")
    assert resp.error.startswith("refused a") and resp.body == b""


def test_a_redirect_chain_within_the_limit_is_followed(server):
    server.routes.update(
        {
            "/a": (301, {"Location": "/b"}, b""),
            "/b": (307, {"Location": "/feed"}, b""),
            "/feed": (200, {"Content-Type": "application/rss+xml"}, FEED),
        }
    )
    resp = fetch(server, "/a")
    assert resp.error is None and resp.body == FEED and resp.url == server.base + "/a"


def test_a_compression_bomb_stops_at_the_cap_without_expanding(server):  # F4
    server.routes["/bomb"] = (200, {"Content-Encoding": "gzip"}, gzip.compress(b"\0" * 300_000_000, 9))
    tracemalloc.start()
    try:
        resp = fetch(server, "/bomb", max_bytes=5 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.error == f"body larger than {5 * 1024 * 1024} bytes" and resp.body == b""
    assert peak < 30_000_000, f"peak {peak} bytes while reading a 300 MB bomb"


def test_gzip_and_deflate_bodies_are_decoded_and_unknown_encodings_refused(server):  # F4
    import zlib

    server.routes.update(
        {
            "/gz": (200, {"Content-Encoding": "gzip"}, gzip.compress(FEED)),
            "/deflate": (200, {"Content-Encoding": "deflate"}, zlib.compress(FEED)),
            "/br": (200, {"Content-Encoding": "br"}, b"\x1b\x00"),
        }
    )
    assert fetch(server, "/gz").body == FEED and fetch(server, "/deflate").body == FEED
    assert fetch(server, "/br").error == "unsupported Content-Encoding 'br'"


def test_unreachable_hosts_fail_fast(server):  # F2
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with http.make_client() as client:
        refused = http.get(
            client, "t", f"http://127.0.0.1:{port}/", http.Policy(allow_private=frozenset({f"127.0.0.1:{port}"}))
        )
        unknown = http.get(client, "t", "http://nonexistent.invalid/feed")
    assert refused.error.startswith("ConnectError") and unknown.error.startswith("cannot resolve nonexistent.invalid")


def test_a_gone_feed_says_to_remove_it(server, tmp_path):  # F8
    server.routes["/gone"] = (410, {}, b"")
    _, status = _news(server, tmp_path, DAY, "/gone")
    assert status.state == "failed" and status.reason.endswith("take the feed out of the config")


def _news(server: Server, tmp_path, day: dt.date, path: str = "/feed"):
    feed = FeedConfig(name="Lab", url=server.base + path, kind="news")
    with http.make_client() as client:
        source = LiveSource(client, SnapshotStore(tmp_path, day), policy(server))
        articles, [status] = fetch_news(NewsConfig(window_days=30, feeds=[feed]), DAY, source)
    return articles, status


def test_conditional_get_reuses_the_stored_copy_on_304(server, tmp_path):  # F7
    def etag_route(headers):
        if headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"ETag": '"v1"', "Last-Modified": "Wed, 29 Apr 2026 10:00:00 GMT"}, FEED

    server.routes["/feed"] = etag_route
    first, status1 = _news(server, tmp_path, DAY)
    second, status2 = _news(server, tmp_path, DAY + dt.timedelta(days=1))
    assert status1.state == "ok" and status2.state == "not_modified"
    assert second == first and len(first) > 0  # a 304 is not an empty feed
    sent = server.requests[-1][1]
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == "Wed, 29 Apr 2026 10:00:00 GMT"
    replayed = fetch_news(
        NewsConfig(window_days=30, feeds=[FeedConfig(name="Lab", url=server.base + "/feed", kind="news")]),
        DAY,
        ReplaySource(SnapshotStore(tmp_path, DAY + dt.timedelta(days=1))),
    )
    assert replayed[0] == first  # the stored snapshot of the 304 day replays the same items


@pytest.mark.parametrize("failure", [(500, {}, b""), (200, {"Content-Type": "text/html"}, CHALLENGE)])
def test_a_failed_feed_uses_its_last_good_copy_and_is_flagged_after_three_failures(server, tmp_path, failure):  # F8, F9
    server.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, FEED)
    good, _ = _news(server, tmp_path, DAY)
    server.routes["/feed"] = failure
    for n in range(1, 4):
        items, status = _news(server, tmp_path, DAY + dt.timedelta(days=n))
        assert status.state == "stale" and status.stale_from == DAY and status.failures == n and status.failed
        assert items == good and "showing the copy fetched on 2026-04-30" in status.reason


def test_a_non_feed_page_without_a_previous_copy_is_a_failure_not_an_empty_feed(server, tmp_path):  # F9
    server.routes["/feed"] = (200, {"Content-Type": "text/html"}, CHALLENGE)
    items, status = _news(server, tmp_path, DAY)
    assert items == [] and status.state == "failed" and status.reason.startswith("not a feed")


def test_requests_to_one_host_are_limited(tmp_path):
    import time

    active, peak, lock = [0], [0], threading.Lock()
    srv = Server()

    def slow(headers):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        return 200, {}, FEED

    for i in range(5):
        srv.routes[f"/f{i}"] = slow
    feeds = [FeedConfig(name=f"f{i}", url=f"{srv.base}/f{i}", kind="news") for i in range(5)]
    try:
        with http.make_client() as client:
            source = LiveSource(client, SnapshotStore(tmp_path, DAY), policy(srv), per_host=2)
            fetch_news(NewsConfig(window_days=30, feeds=feeds), DAY, source)
    finally:
        srv.close()
    assert peak[0] == 2
