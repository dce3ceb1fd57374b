"""Fetch benchmark: 40 news feeds and 3 arXiv categories from local servers with 200 ms latency.

Run: python bench/fetch.py [--feeds 40] [--latency 0.2]
Prints, all measured in the same run: the slowest single feed, the sequential sum of fetching
every feed one after another, the fetch stage's wall time (feeds in parallel beside the arXiv
requests, which keep arXiv's 3 s pacing), and the target: under 1.5x the slowest feed plus the
arXiv pacing floor ((requests - 1) x 3 s between the end of one arXiv response and the next request, plus
the requests themselves). Then the peak memory of parsing the largest recorded
feed (tests/data/kagi_time_tech.rss, 1.1 MB).

Each feed is served from its own loopback address (127.0.0.1 ... 127.0.0.N), as feeds on the
internet live on different hosts; the per-host limit therefore does not serialize them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.config import Config, FeedConfig
from digest.fetch import feeds, http
from digest.fetch.feeds import fetch_news, parse_feed
from digest.fetch.sources import LiveSource, Pacer
from digest.fetch.store import SnapshotStore
from digest.pipeline import fetch

DAY = dt.date(2026, 4, 30)
DEMO = SnapshotStore(ROOT / "demo" / "snapshot", DAY)
LARGEST = ROOT / "tests" / "data" / "kagi_time_tech.rss"


def serve(address: str, latency: float) -> ThreadingHTTPServer:
    """A server on `address` answering /<stored source name> with the demo snapshot's body."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            time.sleep(latency)
            resp = DEMO.load(self.path.lstrip("/").replace("%20", " "))
            body = resp.body if resp else b""
            self.send_response(200 if resp else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((address, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def config(servers: list[ThreadingHTTPServer], arxiv: ThreadingHTTPServer) -> Config:
    def base(s):
        return f"http://{s.server_address[0]}:{s.server_address[1]}"

    feeds = [
        FeedConfig(name=f"feed {i}", url=f"{base(s)}/feed-OpenAI News", kind="news") for i, s in enumerate(servers)
    ]
    return Config.model_validate(
        {
            "arxiv": {
                "categories": ["cs.AI", "cs.CL", "cs.LG"],
                "rss_url": f"{base(arxiv)}/arxiv-rss-{{category}}",
                "api_url": f"{base(arxiv)}/arxiv-api",
            },
            "news": {"window_days": 14, "feeds": [f.model_dump() for f in feeds]},
            "fetch": {"allow_private": [f"{s.server_address[0]}:{s.server_address[1]}" for s in [*servers, arxiv]]},
        }
    )


def timed_fetch(cfg: Config, data: Path) -> tuple[float, int]:
    policy = http.Policy(frozenset(cfg.fetch.allow_private))
    with http.make_client() as client:
        source = LiveSource(client, SnapshotStore(data, DAY), policy, cfg.fetch.per_host)
        start = time.perf_counter()
        snapshot = fetch(cfg, source, Pacer(cfg.arxiv.delay_seconds))
        wall = time.perf_counter() - start
    return wall, sum(1 for s in snapshot.sources if s.source.startswith("arxiv"))


def single_feeds(cfg: Config) -> list[float]:
    times = []
    policy = http.Policy(frozenset(cfg.fetch.allow_private))
    with http.make_client() as client:
        for feed in cfg.news.feeds:
            start = time.perf_counter()
            http.get(client, feed.name, feed.url, policy)
            times.append(time.perf_counter() - start)
    return times


def news_alone(cfg: Config, data: Path) -> float:
    policy = http.Policy(frozenset(cfg.fetch.allow_private))
    with http.make_client() as client:
        source = LiveSource(client, SnapshotStore(data, DAY), policy, cfg.fetch.per_host)
        start = time.perf_counter()
        fetch_news(cfg.news, DAY, source, cfg.fetch.workers)
        return time.perf_counter() - start


def parse_peak() -> tuple[float, int, int, int]:
    """(seconds, peak traced bytes, items, body bytes); timed without tracing, which slows parsing."""
    body = LARGEST.read_bytes()
    feed = FeedConfig(name="largest", url="https://example.org/feed", kind="news")
    feeds._parse.cache_clear()  # parsed bodies are memoized: measure a cold parse each time
    start = time.perf_counter()
    items = parse_feed(body, feed, dt.datetime.now(dt.UTC))
    seconds = time.perf_counter() - start
    feeds._parse.cache_clear()
    tracemalloc.start()
    parse_feed(body, feed, dt.datetime.now(dt.UTC))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, len(items), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    servers = [serve(f"127.0.0.{i + 1}", args.latency) for i in range(args.feeds)]
    arxiv = serve("127.0.0.1", args.latency)
    cfg = config(servers, arxiv)
    try:
        singles = single_feeds(cfg)
        with tempfile.TemporaryDirectory() as data:
            news = news_alone(cfg, Path(data))
        with tempfile.TemporaryDirectory() as data:
            wall, arxiv_requests = timed_fetch(cfg, Path(data))
    finally:
        for s in [*servers, arxiv]:
            s.shutdown()
    # arXiv's 3 s count from the end of the previous response (so arXiv never sees two requests closer
    # than that): the floor is the gaps plus the arXiv requests' own time.
    floor = (arxiv_requests - 1) * cfg.arxiv.delay_seconds + arxiv_requests * args.latency
    target = 1.5 * max(singles) + floor
    print(
        f"{args.feeds} feeds at {args.latency * 1000:.0f} ms, {arxiv_requests} arXiv requests paced "
        f"{cfg.arxiv.delay_seconds:.0f} s apart"
    )
    print(
        f"  slowest single feed {max(singles):6.2f} s   sequential sum {sum(singles):6.2f} s   "
        f"arXiv pacing floor {floor:5.1f} s"
    )
    print(
        f"  news feeds alone    {news:6.2f} s   ({sum(singles) / news:.1f}x faster than sequential, "
        f"{news / max(singles):.2f}x the slowest feed)"
    )
    print(f"  fetch stage wall    {wall:6.2f} s   target < {target:5.2f} s ({'met' if wall < target else 'NOT met'})")
    seconds, peak, items, size = parse_peak()
    print(
        f"parse {LARGEST.name} ({size / 1e6:.1f} MB, {items} items): {seconds:.2f} s, "
        f"peak {peak / 1e6:.1f} MB traced ({peak / size:.1f}x the body)"
    )


if __name__ == "__main__":
    main()
