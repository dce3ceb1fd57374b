"""The HTTP client against misbehaving servers on 127.0.0.1 (fault catalogue F1, F3, F8), and
parallel feed fetching."""

import datetime as dt
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import DEMO_SNAPSHOT

from digest.config import FeedConfig, NewsConfig
from digest.fetch import http
from digest.fetch.feeds import fetch_news
from digest.fetch.sources import LiveSource
from digest.fetch.store import SnapshotStore

FEED = SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30)).load("feed-OpenAI News").body


class _Handler(BaseHTTPRequestHandler):
    """Slow, huge and failing answers; `state` counts the requests being served at once."""

    state: dict = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        with self.state["lock"]:
            self.state["active"] += 1
            self.state["peak"] = max(self.state["peak"], self.state["active"])
        try:
            route = {"/drip": self._drip, "/huge": self._huge}.get(self.path)
            route = route or (self._slow if self.path.startswith("/slow") else self._unavailable)
            route()
        finally:
            with self.state["lock"]:
                self.state["active"] -= 1

    def _drip(self):  # F1: one byte every 0.2 s, for at most 40 s
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        for _ in range(200):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    def _huge(self):  # F3: a body past the cap
        self.send_response(200)
        self.send_header("Content-Length", str(50_000_000))
        self.end_headers()
        try:
            for _ in range(50):
                self.wfile.write(b"0" * 1_000_000)
        except OSError:
            return

    def _slow(self):
        time.sleep(0.5)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def _unavailable(self):  # F8
        self.send_response(503)
        self.send_header("Retry-After", "120")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def server():
    state = {"active": 0, "peak": 0, "lock": threading.Lock()}
    handler = type("Handler", (_Handler,), {"state": state})  # this server's own counts
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.base, srv.state = f"http://127.0.0.1:{srv.server_port}", state
    srv.policy = lambda **kw: http.Policy(allow_private=frozenset({f"127.0.0.1:{srv.server_port}"}), **kw)
    yield srv
    srv.shutdown()
    srv.server_close()


def test_a_dripping_server_is_abandoned_at_the_deadline(server):
    start = time.monotonic()
    with http.make_client() as client:
        resp = http.get(client, "drip", f"{server.base}/drip", server.policy(deadline=1.0))
    assert resp.error == "no complete answer within 1 s"
    assert time.monotonic() - start < 3.0


def test_a_body_past_the_cap_is_refused(server):
    with http.make_client() as client:
        resp = http.get(client, "huge", f"{server.base}/huge", server.policy(max_bytes=1_000_000))
    assert resp.error == "body larger than 1000000 bytes" and resp.body == b""


def test_error_statuses_are_failures_and_not_hammered(server):
    with http.make_client() as client:
        resp = http.get(client, "down", f"{server.base}/down", server.policy())
    assert resp.error == "HTTP 503" and resp.status == 503


def test_feeds_are_fetched_in_parallel(server, tmp_path):
    feeds = [FeedConfig(name=f"f{i}", url=f"{server.base}/slow/{i}", kind="news") for i in range(4)]
    with http.make_client() as client:
        source = LiveSource(client, SnapshotStore(tmp_path, dt.date(2026, 4, 30)), server.policy(), per_host=4)
        articles, statuses = fetch_news(NewsConfig(window_days=14, feeds=feeds), dt.date(2026, 4, 30), source)
    assert [s.source for s in statuses] == ["f0", "f1", "f2", "f3"] and all(s.state == "ok" for s in statuses)
    assert server.state["peak"] > 1
    stored = SnapshotStore(tmp_path, dt.date(2026, 4, 30))
    assert all(stored.load(f"feed-f{i}").body == FEED for i in range(4))  # every response kept
