"""Whole-day benchmark at arXiv scale: 1,000 candidate papers and 300 news articles through the real
`digest build --snapshot` path (digest.cli), against the fake OpenAI-compatible server of
tests/fake_llm.py (real HTTP on 127.0.0.1, a fixed latency per completion).

Run: python bench/day.py [--latency 1.0] [--concurrency 16] [--papers 100] [--quick] [--profile STAGE ...]
Builds, in a temp folder, a snapshot in the layout `digest fetch` stores (digest.fetch.store) for
2026-04-30: the demo's announcement feeds (dated another day, so the day is listed from the export
API, as a backfill is), an export-API response of 1,000 real recorded papers under new ids (the demo
day's 20, the 100 of an arXiv API search and 880 of the OAI-PMH records in tests/data, each with its
own title and abstract) and 300 news and comment items of 12 recorded feeds (the demo's six and six
of tests/data), re-dated into the news window. The configuration writes up `--papers` of them chosen
by the demo's reader profile (`papers.rank: reader`, demo/library.bib), with `llm.concurrency`.

Each run is one fresh process building into empty folders (so no answer is cached): its wall time
per stage, timed where digest.pipeline calls the stage, and its peak resident memory
(resource.getrusage, so the interpreter and its imports count, as in bench/archive.py).
- fetch + select: the snapshot read (arXiv listing and feeds), the selection, reader relevance;
- LLM stage: digest.pipeline.write, the DAG of every paper's three write-ups beside the stories
  (merged and clustered in a thread, then the topic names and commentary drafts), the TL;DR batches
  of every candidate, then the overview;
- render + publish: the day page, the paper pages, digest.json, archive and feeds, the search index.
Runs: the day with a 0 s endpoint (the baseline: what the digest itself costs), the day with
`--latency` (the LLM stage against its critical-path bound), and, unless `--quick`, all 1,000
papers written up with a 0 s endpoint. Also printed: the calls and tokens of the TL;DR batches (from
the answer cache), the page sizes, and the figures measured before the whole-day list, stories and
reader relevance, beside today's.

The critical-path bound is bench/llm.py's: the overview depends on every other call, so no schedule
beats max(ceil((calls - 1) / concurrency) + 1, depth) x latency, where the depth is topic names ->
commentary draft -> overview (papers and TL;DR batches are one level, beside it); plus one latency
for the preflight request a replay sends before its first uncached call.
Targets: the whole build with a 0 s endpoint under 10 s, peak RSS under 500 MB, the LLM stage within
1.3x its bound, the day page under 4 MB. `--profile STAGE ...` prints cProfile's top functions of the
stages named (fetch, score_papers, stories_of, write, stage_day, index_site or build) of every run; its timings then
include the profiler's overhead. Stages that overlap in time (stories_of runs inside write) cannot be
profiled together on Python 3.12 and later, where cProfile allows one profiler at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import inspect
import json
import math
import os
import pstats
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import yaml
from fake_llm import FakeLLM

from digest import pipeline
from digest.cli import main as digest_main
from digest.config import FeedConfig
from digest.render.site import read_published

sys.path.insert(0, str(ROOT / "bench"))
from arxiv_day import (  # noqa: E402
    ARTICLES,
    CANDIDATES,
    DATE,
    EARLIER,  # noqa: E402  the figures measured before, kept with the day they were measured on
    WINDOW_DAYS,
    write_snapshot,
)

DEPTH = 3  # topic names -> commentary draft -> overview
TARGET_SECONDS, TARGET_MB, TARGET_RATIO, TARGET_PAGE_MB = 10.0, 500.0, 1.3, 4.0
PROFILE_LINES = 40
# The pipeline's functions timed where digest.pipeline calls them (module globals, looked up per call).
STAGES = ("fetch", "score_papers", "stories_of", "write", "stage_day", "index_site")


def write_config(folder: Path, feeds: list[FeedConfig], per_feed: int, papers: int, concurrency: int) -> Path:
    """sources.yaml for the day in `folder`, with the demo's reader profile beside it; its path."""
    shutil.copy(ROOT / "demo" / "library.bib", folder / "library.bib")
    config = {
        "papers": {"max": papers, "rank": "reader"},
        "news": {
            "window_days": WINDOW_DAYS,
            "max_per_feed": per_feed,
            "max_articles": ARTICLES,
            "feeds": [f.model_dump() for f in feeds],
        },
        "llm": {"concurrency": concurrency},
        "reader": {"library": "library.bib", "interests": "agents; reasoning"},
    }
    path = folder / f"sources-{papers}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def _span(spans: list[tuple[float, float]], profiled: str | None = None):
    """Time the block into `spans`; with `profiled` (the stage's name), print cProfile's top functions
    of it to stderr, by cumulative and by own time (of the thread that runs it: each stage function
    runs in the event loop's thread or in one worker thread)."""
    profile = cProfile.Profile() if profiled else None
    if profile is not None:
        profile.enable()
    start = time.perf_counter()
    try:
        yield
    finally:
        spans.append((start, time.perf_counter()))
        if profile is not None:
            profile.disable()
            for order in ("cumulative", "tottime"):
                print(f"--- profile of {profiled}, by {order} time", file=sys.stderr)
                pstats.Stats(profile, stream=sys.stderr).sort_stats(order).print_stats(PROFILE_LINES)


def _timed(fn, spans: list[tuple[float, float]], profiled: str | None):
    """`fn` (a function or a coroutine function), timed into `spans` on every call."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_coroutine(*args, **kwargs):
            with _span(spans, profiled):
                return await fn(*args, **kwargs)

        return timed_coroutine

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        with _span(spans, profiled):
            return fn(*args, **kwargs)

    return timed


def run_day(config: Path, snapshot: Path, work: Path, profile: list[str]) -> dict:
    """Build the day of `snapshot` with `digest build` (digest.cli) in this process, into `work`.

    Returns the figures: digest's exit code, the build's wall time and each STAGES function's
    (seconds, and its first start and last end counted from the build's start), peak RSS of this
    process (MB; not its Pagefind subprocess's: the kernel counts a child's peak from before its exec,
    which is this process's memory at the fork), the day page's and the day folder's size (bytes),
    the run's LLM usage, answers and tokens per prompt from the answer cache, and what the page holds.
    """
    spans: dict[str, list[tuple[float, float]]] = {name: [] for name in [*STAGES, "build"]}
    site, data = work / "site", work / "data"
    argv = ["-q", "build", "--date", DATE.isoformat(), "--config", str(config), "--snapshot", str(snapshot)]
    with contextlib.ExitStack() as stack:
        for name in STAGES:
            stack.enter_context(
                mock.patch.object(
                    pipeline, name, _timed(getattr(pipeline, name), spans[name], name if name in profile else None)
                )
            )
        with _span(spans["build"], "build" if "build" in profile else None):
            code = digest_main([*argv, "--output", str(site), "--data", str(data)])
    # The build's peak, before this function reads the published digest back (1,000 write-ups weigh ~100 MB).
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ((start, end),) = spans["build"]
    day = site / DATE.isoformat()
    report = json.loads((data / DATE.isoformat() / "run.json").read_text(encoding="utf-8"))
    digest = read_published(site, DATE)
    assert digest is not None, "the day is published"
    with contextlib.closing(sqlite3.connect(data / "llm-cache.sqlite")) as cache:
        rows = cache.execute(
            "SELECT prompt, count(*), sum(prompt_tokens), sum(completion_tokens) FROM answers GROUP BY prompt"
        )
        tasks = {prompt: [n, p, c] for prompt, n, p, c in rows}
    return {
        "exit": code,
        "started": start,  # perf_counter: the monotonic clock every process shares (Linux, macOS)
        "seconds": end - start,
        "stages": {
            name: {"seconds": sum(b - a for a, b in s), "start": s[0][0] - start, "end": s[-1][1] - start}
            for name, s in spans.items()
            if s and name != "build"
        },
        "peak_mb": peak_mb,
        "page_bytes": (day / "index.html").stat().st_size,
        "day_bytes": sum(f.stat().st_size for f in day.rglob("*") if f.is_file()),
        "usage": report["usage"],
        "failures": report["failures"],
        "tasks": tasks,
        "listed": len(digest.listed),
        "tldrs": sum(1 for p in digest.listed if p.tldr),
        "written": len(digest.papers),
        "topics": len(digest.topics),
        "articles": digest.article_count,
        "fetched_articles": sum(s["items"] for s in report["sources"] if not s["source"].startswith("arxiv")),
    }


def measure(config: Path, snapshot: Path, work: Path, latency: float, profile: list[str]) -> dict:
    """run_day in a fresh process against a FakeLLM of `latency` seconds; its figures, with the
    requests the endpoint received (the preflight and any retries included) and the seconds from
    launching the process to the build's start (the interpreter and the imports)."""
    work.mkdir()
    launched = time.perf_counter()
    with FakeLLM(latency=latency) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "bench"}
        for name in ("DIGEST_MODEL", "DIGEST_SITE_URL"):  # every task's model as the config names it
            env.pop(name, None)
        command = [sys.executable, __file__, "--run-day", str(config), str(snapshot), str(work)]
        result = subprocess.run(
            command + (["--profile", *profile] if profile else []), capture_output=True, text=True, env=env, cwd=ROOT
        )
        requests = len(server.requests)
    if profile:
        print(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"the build of {config.name} failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["exit"] not in (0, 3):
        raise SystemExit(f"digest build exited {figures['exit']}:\n{result.stderr[-3000:]}")
    return figures | {"requests": requests, "latency": latency, "startup": figures["started"] - launched}


def bound(calls: int, concurrency: int, latency: float) -> float:
    """The LLM stage's critical-path bound (seconds): the preflight, then bench/llm.py's bound."""
    return (1 + max(math.ceil((calls - 1) / concurrency) + 1, DEPTH)) * latency


def stages(f: dict) -> dict[str, float]:
    """The three stages of a run and their parts (seconds), from the timed STAGES."""
    s = f["stages"]
    return {
        "start-up (interpreter, imports)": f["startup"],
        "fetch + select": s["write"]["start"],
        "  fetch (arXiv listing and feeds)": s["fetch"]["seconds"],
        "  reader relevance": s["score_papers"]["seconds"],
        "LLM stage (write)": s["write"]["end"] - s["write"]["start"],
        "  stories and topic clusters (inside it)": s["stories_of"]["seconds"],
        "render + publish": f["seconds"] - s["write"]["end"],
        "  pages, digest.json, archive, feeds": s["stage_day"]["seconds"],
        "  search index (Pagefind)": s["index_site"]["seconds"],
        "whole build": f["seconds"],
    }


def print_runs(runs: list[dict], concurrency: int) -> None:
    """The runs side by side: stage times, memory, calls, bound and page size."""
    print(f"{'':44}" + "".join(f"{r['label']:>22}" for r in runs))
    table = [stages(r) for r in runs]
    for row in table[0]:
        print(f"{row:44}" + "".join(f"{t[row]:20.2f} s" for t in table))

    def line(label: str, cells: list[str]) -> None:
        print(f"{label:44}" + "".join(f"{c:>22}" for c in cells))

    line("peak RSS, build process", [f"{r['peak_mb']:.0f} MB" for r in runs])
    line("LLM calls (endpoint requests)", [f"{r['usage']['calls']:,} ({r['requests']:,})" for r in runs])
    line("critical-path bound", [f"{bound(r['usage']['calls'], concurrency, r['latency']):.1f} s" for r in runs])
    line("day page (day folder)", [f"{r['page_bytes'] / 1e6:.2f} MB ({r['day_bytes'] / 1e6:.1f})" for r in runs])
    line("listed / TL;DRs / written up", [f"{r['listed']} / {r['tldrs']} / {r['written']}" for r in runs])
    line(
        "articles fetched / in topics, topics",
        [f"{r['fetched_articles']} / {r['articles']}, {r['topics']}" for r in runs],
    )
    line("digest exit status", [str(r["exit"]) for r in runs])


def print_tldrs(run: dict) -> None:
    """The TL;DR batches' calls and tokens, and every prompt's, from the answer cache."""
    n, prompt, completion = next((v for k, v in run["tasks"].items() if k.startswith("tldr@")), [0, 0, 0])
    print(
        f"batch TL;DRs for {run['listed']:,} candidates: {n} calls, "
        f"{prompt:,} prompt + {completion:,} completion tokens"
        f" ({(prompt + completion) / max(run['listed'], 1):.0f} per paper)"
    )
    print("answers per prompt: " + ", ".join(f"{k} {v[0]}" for k, v in sorted(run["tasks"].items())))


def print_earlier(runs: list[dict]) -> None:
    """The figures measured before the whole-day list, stories and reader relevance, beside today's."""
    print("against the figures before the whole-day list, stories and relevance (1,094 real papers as one day):")
    for n, (what, seconds, mb, page) in enumerate(EARLIER):
        before = f"{seconds:.1f} s" + (f", {mb:.0f} MB" if mb else "") + (f", {page:.1f} MB page" if page else "")
        if n < len(runs):
            run = runs[n]
            now = f"{run['seconds']:.1f} s, {run['peak_mb']:.0f} MB, {run['page_bytes'] / 1e6:.1f} MB page"
        else:
            now = "not run (--quick)"
        print(f"  {what:58} before {before:28} now {now}")


def print_targets(runs: list[dict], concurrency: int) -> None:
    """Each target with PASS or FAIL and the figure it was judged on."""
    baseline, latent = runs[0], runs[1]
    llm = stages(latent)["LLM stage (write)"]
    limit = bound(latent["usage"]["calls"], concurrency, latent["latency"])
    checks = [
        (
            f"whole build with a 0 s endpoint < {TARGET_SECONDS:.0f} s",
            baseline["seconds"] < TARGET_SECONDS,
            f"{baseline['seconds']:.2f} s",
        ),
        (
            f"peak RSS < {TARGET_MB:.0f} MB in every run",
            max(r["peak_mb"] for r in runs) < TARGET_MB,
            f"{max(r['peak_mb'] for r in runs):.0f} MB",
        ),
        (
            f"LLM stage <= {TARGET_RATIO}x its bound",
            llm <= TARGET_RATIO * limit,
            f"{llm:.1f} s / {limit:.1f} s = {llm / limit:.2f}x",
        ),
        (
            f"day page < {TARGET_PAGE_MB:.0f} MB in every run",
            max(r["page_bytes"] for r in runs) < TARGET_PAGE_MB * 1e6,
            f"{max(r['page_bytes'] for r in runs) / 1e6:.2f} MB",
        ),
    ]
    for what, met, value in checks:
        print(f"target: {what:44} {'PASS' if met else 'FAIL'}  ({value})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per completion of the second run")
    parser.add_argument("--concurrency", type=int, default=16, help="llm.concurrency")
    parser.add_argument("--papers", type=int, default=100, help="papers.max: papers written up")
    parser.add_argument("--quick", action="store_true", help=f"skip the run with all {CANDIDATES:,} papers written up")
    parser.add_argument(
        "--profile",
        nargs="+",
        default=[],
        choices=[*STAGES, "build"],
        help="print cProfile's top functions of these stages",
    )
    parser.add_argument("--run-day", nargs=3, type=Path, help=argparse.SUPPRESS)  # one run, in the child process
    args = parser.parse_args()
    if args.run_day:
        config, snapshot, work = args.run_day
        print(json.dumps(run_day(config, snapshot, work, args.profile)))
        return
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        feeds, per_feed = write_snapshot(root / "snapshot")
        plan = [(args.papers, 0.0, "0 s endpoint"), (args.papers, args.latency, f"{args.latency:g} s endpoint")]
        plan += [] if args.quick else [(CANDIDATES, 0.0, f"{CANDIDATES:,} written, 0 s")]
        runs = []
        for n, (papers, latency, label) in enumerate(plan):
            config = write_config(root, feeds, per_feed, papers, args.concurrency)
            runs.append(measure(config, root / "snapshot", root / f"run-{n}", latency, args.profile) | {"label": label})
        print(
            f"the day {DATE}: {CANDIDATES:,} candidate papers (export API), {ARTICLES} articles of {len(feeds)} feeds, "
            f"{args.papers} written up by reader relevance, llm.concurrency {args.concurrency}; "
            "one fresh process per run"
        )
        print_runs(runs, args.concurrency)
        print_tldrs(runs[0])
        print_earlier(runs)
        print_targets(runs, args.concurrency)
        for run in runs:
            if run["failures"]:
                print(f"{run['label']}: problems of the run: {'; '.join(run['failures'][:5])}")


if __name__ == "__main__":
    main()
