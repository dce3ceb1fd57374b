"""LLM-stage benchmark: the write DAG against an OpenAI-compatible fake server on 127.0.0.1 whose
every completion takes a fixed latency (default 1.0 s).

Run: python bench/llm.py [--latency 1.0] [--concurrency 16]
Builds a 20-paper day (the demo's export-API response) and a 100-paper day (five times the same
papers under new ids) with the demo day's news topics, and prints calls, wall time, the sequential time (sum
of latencies) and the critical-path bound: the overview depends on every other call, so no
schedule beats max(ceil((calls - 1) / concurrency) + 1, dependency depth) x latency, where the depth
is topic names -> commentary draft -> overview. Target: wall time within 1.3x the bound at
concurrency 16.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fake_llm import FakeLLM

from digest.config import Config, NewsConfig, PapersConfig, resolve_endpoint
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.feeds import fetch_news
from digest.fetch.sources import Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.llm.client import LLMClient
from digest.models import Snapshot
from digest.pipeline import Deps, write
from digest.select.papers import select_papers

DAY = dt.date(2026, 4, 30)
DEPTH = 3  # topic names -> commentary draft -> overview (papers are one level, in parallel with it)


def day(papers: int) -> Snapshot:
    store = SnapshotStore(ROOT / "demo" / "snapshot", DAY)
    base = parse_api(store.load("arxiv-api").body)
    many = [
        p.model_copy(update={"arxiv_id": f"{p.arxiv_id}{i}"})
        for i in range(math.ceil(papers / len(base)))
        for p in base
    ][:papers]
    config = Config.model_validate(__import__("yaml").safe_load((ROOT / "demo" / "sources.yaml").read_text()))
    articles, statuses = fetch_news(
        NewsConfig(**{**config.news.model_dump(), "max_per_feed": 10}), DAY, ReplaySource(store)
    )
    return Snapshot(date=DAY, papers=many, articles=articles, sources=statuses)


def run(papers: int, latency: float, concurrency: int) -> None:
    snapshot = day(papers)
    with FakeLLM(latency=latency) as server:
        endpoint = resolve_endpoint(Config().llm, environ={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "k"})
        deps = Deps(
            source=None,
            endpoint=endpoint,
            output=Path("."),
            data=Path("."),
            pacer=Pacer(0),
            llm=lambda: LLMClient(endpoint, concurrency, timeout=60, temperature=0),
        )

        async def write_day():
            async with deps.llm() as llm:
                return await write(snapshot, selection, Config(papers=PapersConfig(max=papers)), llm, deps)

        start = time.perf_counter()
        selection = select_papers(snapshot.papers, PapersConfig(max=papers))
        digest = asyncio.run(write_day())
        wall = time.perf_counter() - start
    calls = digest.usage.calls
    bound = max(math.ceil((calls - 1) / concurrency) + 1, DEPTH) * latency
    print(
        f"{papers:4d} papers, {len(digest.topics)} topics: {calls} calls, wall {wall:6.2f} s, "
        f"sequential {calls * latency:7.1f} s, critical-path bound {bound:5.1f} s, wall/bound {wall / bound:.2f}"
        f" ({'met' if wall <= 1.3 * bound else 'NOT met'}: target 1.3)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    for papers in (20, 100):
        run(papers, args.latency, args.concurrency)


if __name__ == "__main__":
    main()
