"""Command line: argument parsing, logging, exit codes, and the real dependencies of a build.

Exit codes (build): 0 the page was published, 1 it was not, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
import time
from pathlib import Path

from digest import __version__
from digest.config import ConfigError, load_config, resolve_endpoint
from digest.fetch.http import make_client
from digest.fetch.sources import LiveSource, Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.llm.cache import AnswerCache
from digest.llm.client import LLMClient
from digest.llm.local import EmbeddedModelError, embedded_server
from digest.pipeline import Deps, build
from digest.render.site import render_site

log = logging.getLogger("digest")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digest", description="PaperBot Daily Digest: build the daily page of new arXiv papers and AI news.")
    p.add_argument("--version", action="version", version=f"digest {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="fetch, write and render one day's page",
                       description="Fetch the day's papers and news, have LLMs write them up, render the page. "
                                   "Exit codes: 0 published, 1 not published, 2 usage or configuration error.")
    b.add_argument("--date", type=_date, required=True, help="the arXiv announcement date, YYYY-MM-DD")
    b.add_argument("--config", type=Path, default=Path("sources.yaml"), help="sources.yaml (default: ./sources.yaml)")
    b.add_argument("--output", type=Path, default=Path("output"), help="site folder (default: output/)")
    b.add_argument("--data", type=Path, default=Path("data"), help="where raw responses are kept per date (default: data/)")
    b.add_argument("--cache", type=Path, help="the LLM answer cache, SQLite (default: <data>/llm-cache.sqlite)")
    b.add_argument("--snapshot", type=Path, help="replay the raw responses stored in this folder; no network")
    r = sub.add_parser("render", help="rebuild the pages from stored digest.json files (no network, no LLM)",
                       description="Re-render every day page, the archive and the feed from the digest.json files "
                                   "in the output folder. Exit codes: 0 rendered, 1 the date was never built, 2 usage error.")
    r.add_argument("--date", type=_date, required=True, help="the day that must be among the rendered ones")
    r.add_argument("--config", type=Path, default=Path("sources.yaml"), help="sources.yaml (for site.url)")
    r.add_argument("--output", type=Path, default=Path("output"), help="site folder (default: output/)")
    return p


def run_render(args: argparse.Namespace) -> int:
    site_url = load_config(args.config).site.url if args.config.exists() else None
    days = [d.date for d in render_site(args.output, site_url)]
    if args.date not in days:
        print(f"digest: no digest.json for {args.date} in {args.output}; build it first", file=sys.stderr)
        return 1
    print(f"Rendered {args.output / args.date.isoformat() / 'index.html'} ({len(days)} days in the archive)")
    return 0


def run_build(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    endpoint = resolve_endpoint(config.llm)
    if args.snapshot:
        source = ReplaySource(SnapshotStore(args.snapshot, args.date))
        http_client = contextlib.nullcontext()
    else:
        http_client = make_client()
        source = LiveSource(http_client, SnapshotStore(args.data, args.date))
    concurrency = config.llm.concurrency
    with contextlib.ExitStack() as stack:
        stack.enter_context(http_client)
        if endpoint.embedded:
            log.info("no LLM endpoint configured: starting the embedded model")
            url = stack.enter_context(embedded_server(
                config.llm.embedded.n_ctx, config.llm.embedded.startup_timeout,
                log=args.output / "llama-server.log",
            ))
            endpoint = endpoint.model_copy(update={"base_url": url})
            concurrency = 1  # llama.cpp's server answers one request at a time
        cache = AnswerCache(args.cache or args.data / "llm-cache.sqlite")
        llm = LLMClient(endpoint, concurrency, config.llm.timeout, config.llm.temperature, cache)
        deps = Deps(source=source, llm=llm, endpoint=endpoint, output=args.output,
                    pacer=Pacer(config.arxiv.delay_seconds))
        return _report(build(args.date, config, deps))


def _report(report) -> int:
    for failure in report.failures:
        log.warning("%s", failure)
    seconds = (report.finished_at - report.started_at).total_seconds()
    print(f"Published {report.page} ({report.usage.calls} LLM calls, {report.usage.cache_hits} cached, "
          f"{report.usage.prompt_tokens + report.usage.completion_tokens} tokens, "
          f"{len(report.failures)} problems, {seconds:.0f} s)")
    return report.exit_status


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Our INFO lines only: the HTTP libraries log every request at INFO.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    start = time.monotonic()
    try:
        if args.command == "build":
            args.output.mkdir(parents=True, exist_ok=True)
            return run_build(args)
        if args.command == "render":
            return run_render(args)
    except ConfigError as exc:
        print(f"digest: configuration error: {exc}", file=sys.stderr)
        return 2
    except EmbeddedModelError as exc:
        print(f"digest: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"digest: interrupted after {time.monotonic() - start:.0f} s; nothing published", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
