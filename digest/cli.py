"""Command line: argument parsing, logging, exit codes, the run lock, and the real dependencies of
a build (HTTP client or snapshot, LLM endpoint or embedded server, cache).

Exit codes: 0 published, 3 published but degraded, 1 not published (the previous page is kept),
2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import fcntl
import functools
import http.server
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import yaml
from rich.console import Console
from rich.logging import RichHandler

from digest import __version__
from digest.config import Config, ConfigError, SiteConfig, load_config, masked, resolve_endpoint
from digest.fetch.arxiv import today as arxiv_today
from digest.fetch.http import Policy, make_client
from digest.fetch.sources import LiveSource, Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.llm.cache import AnswerCache
from digest.llm.client import LLMClient, LLMError
from digest.llm.local import EmbeddedModelError, embedded_server
from digest.llm.policy import Budget
from digest.llm.prompts import load_prompt
from digest.models import Ping, RunReport
from digest.pipeline import EXIT_DEGRADED, EXIT_NOT_PUBLISHED, Deps, build, fetch
from digest.progress import LiveReporter, Reporter
from digest.render.site import json_schema, render_site

EXIT_USAGE = 2
EXIT_CODES = "Exit codes: 0 published, 3 published but degraded, 1 not published (previous page kept), 2 usage or configuration error."
log = logging.getLogger("digest")


class LockBusy(Exception):
    """Another digest run holds the lock on the output folder."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="digest", description="PaperBot Daily Digest: build the daily page of new arXiv papers and AI news.",
                                epilog=EXIT_CODES)
    p.add_argument("--version", action="version", version=f"digest {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="debug logs, and tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="fetch, write and render one day's page", parents=[common],
                       description="Fetch the day's papers and news, have LLMs write them up, render the page.", epilog=EXIT_CODES)
    b.add_argument("--date", type=_date, default=arxiv_today(), help="the arXiv announcement date, YYYY-MM-DD (default: today, US Eastern)")
    b.add_argument("--config", type=Path, default=Path("sources.yaml"), help="sources.yaml (default: ./sources.yaml)")
    b.add_argument("--output", type=Path, default=Path("output"), help="site folder (default: output/)")
    b.add_argument("--data", type=Path, default=Path("data"), help="where raw responses are kept per date (default: data/)")
    b.add_argument("--cache", type=Path, help="the LLM answer cache, SQLite (default: <data>/llm-cache.sqlite)")
    b.add_argument("--snapshot", type=Path, help="replay the raw responses stored in this folder; no network")
    b.add_argument("--strict", action="store_true", help="a degraded day is a failure: publish nothing, exit 1")
    f = sub.add_parser("fetch", help="fetch and store one day's raw responses only (no LLM)", parents=[common],
                       description="Fetch the day's arXiv announcements and news feeds into <data>/<date>/, for a "
                                   "later `build --snapshot`.", epilog="Exit codes: 0 every source read, 3 some failed, 2 usage error.")
    f.add_argument("--date", type=_date, default=arxiv_today(), help="YYYY-MM-DD (default: today, US Eastern)")
    f.add_argument("--config", type=Path, default=Path("sources.yaml"), help="sources.yaml (default: ./sources.yaml)")
    f.add_argument("--data", type=Path, default=Path("data"), help="where raw responses are kept (default: data/)")
    c = sub.add_parser("check", help="validate the configuration and call each configured model once", parents=[common],
                       description="Print the effective configuration, then ask every configured model for a tiny "
                                   "JSON answer.", epilog="Exit codes: 0 all good, 2 configuration or endpoint error.")
    c.add_argument("--config", type=Path, default=Path("sources.yaml"), help="sources.yaml (default: ./sources.yaml)")
    v = sub.add_parser("serve", help="preview the output folder on 127.0.0.1", parents=[common],
                       description="Serve the built site on http://127.0.0.1:PORT/ until Ctrl-C.")
    v.add_argument("--output", type=Path, default=Path("output"), help="site folder (default: output/)")
    v.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    r = sub.add_parser("render", help="rebuild the pages from stored digest.json files (no network, no LLM)", parents=[common],
                       description="Re-render every day page, the archive and the feed from the digest.json files "
                                   "in the output folder.", epilog="Exit codes: 0 rendered, 1 the date was never built, 2 usage error.")
    r.add_argument("--date", type=_date, required=True, help="the day that must be among the rendered ones")
    r.add_argument("--config", type=Path, default=Path("sources.yaml"), help="sources.yaml (for site.url)")
    r.add_argument("--output", type=Path, default=Path("output"), help="site folder (default: output/)")
    sub.add_parser("schema", help="print the JSON Schema of <date>/digest.json", parents=[common],
                   description="Print the JSON Schema (draft 2020-12) that every <date>/digest.json follows.")
    return p


@contextlib.contextmanager
def run_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive flock on <output>/.digest.lock for the block; raise LockBusy at once if taken.

    The kernel releases a flock when its process dies, so a killed run never leaves a stale lock.
    """
    output.mkdir(parents=True, exist_ok=True)
    with open(output / ".digest.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(f"another digest run is writing to {output}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=1, ensure_ascii=False))
    return 0


def run_render(args: argparse.Namespace) -> int:
    site = load_config(args.config).site if args.config.exists() else SiteConfig()
    with run_lock(args.output):
        days = [d.date for d in render_site(args.output, site)]
    if args.date not in days:
        print(f"digest: no digest.json for {args.date} in {args.output}; build it first", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    print(f"Rendered {args.output / args.date.isoformat() / 'index.html'} ({len(days)} days in the archive)")
    return 0


def open_llm(stack: contextlib.ExitStack, config: Config, server_log: Path, cache: AnswerCache | None) -> LLMClient:
    """The LLM client for this run; starts the embedded model (stopped with `stack`) when no
    endpoint is configured."""
    endpoint = resolve_endpoint(config.llm)
    concurrency = config.llm.concurrency
    if endpoint.embedded:
        log.info("no LLM endpoint configured: starting the embedded model")
        server_log.parent.mkdir(parents=True, exist_ok=True)
        url = stack.enter_context(embedded_server(
            config.llm.embedded.n_ctx, config.llm.embedded.startup_timeout, log=server_log,
        ))
        endpoint = endpoint.model_copy(update={"base_url": url})
        concurrency = 1  # llama.cpp's server answers one request at a time
    b = config.llm.budget
    return LLMClient(endpoint, concurrency, config.llm.timeout, config.llm.temperature, cache,
                     Budget(b.max_calls, b.max_tokens, b.max_usd), config.llm.prices)


def live_source(stack: contextlib.ExitStack, config: Config, args: argparse.Namespace) -> LiveSource:
    """A network source storing under `args.data`, with the config's fetch policy."""
    f = config.fetch
    policy = Policy(frozenset(f.allow_private), f.max_body_bytes, f.deadline_seconds)
    return LiveSource(stack.enter_context(make_client()), SnapshotStore(args.data, args.date), policy, f.per_host)


def run_build(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with contextlib.ExitStack() as stack:
        stack.enter_context(run_lock(args.output))
        if args.snapshot:
            source = ReplaySource(SnapshotStore(args.snapshot, args.date))
        else:
            source = live_source(stack, config, args)
        cache = AnswerCache(args.cache or args.data / "llm-cache.sqlite")
        llm = open_llm(stack, config, args.output / "llama-server.log", cache)
        if not args.snapshot:
            preflight(llm)
        progress = LiveReporter(args.console) if args.console else Reporter()
        stack.callback(progress.close)
        deps = Deps(source=source, llm=llm, output=args.output,
                    pacer=Pacer(config.arxiv.delay_seconds), progress=progress)
        report = build(args.date, config, deps, strict=args.strict)
    return _report(report)  # after the progress display has stopped


class PreflightError(Exception):
    """The endpoint does not answer a tiny request: wrong base URL, key or model."""


def preflight(llm: LLMClient) -> None:
    """One uncached call to the summary model before any fetching; raises PreflightError."""
    probe = LLMClient(llm.endpoint, 1, llm.timeout, 0.0)  # own client: the build's runs in its own event loop
    model = llm.endpoint.models.summary
    error = asyncio.run(_ping_all(probe, [model]))[model]
    if error:
        raise PreflightError(f"preflight call failed, nothing fetched: {error}")


def run_fetch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with contextlib.ExitStack() as stack:
        snapshot = fetch(args.date, config, live_source(stack, config, args), Pacer(config.arxiv.delay_seconds))
    for status in snapshot.sources:
        print(f"{status.state:>7}  {status.items:4d}  {status.source}{'  ' + status.reason if status.reason else ''}")
    print(f"Stored {args.data / args.date.isoformat()}: {len(snapshot.papers)} papers, {len(snapshot.articles)} articles"
          f"{' (backfilled)' if snapshot.backfilled else ''}")
    return EXIT_DEGRADED if any(s.state in ("failed", "stale") for s in snapshot.sources) else 0


def run_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(yaml.safe_dump(masked(config), sort_keys=False, allow_unicode=True), end="")
    endpoint = resolve_endpoint(config.llm)
    print(f"# endpoint: {endpoint.base_url or 'embedded model'}; "
          f"API key ({config.llm.api_key_env}): {'set' if endpoint.api_key else 'not set'}")
    tasks = endpoint.models.model_dump(exclude=set() if config.papers.rank == "triage" else {"triage"})
    models = list(dict.fromkeys([*tasks.values(), *endpoint.commentary.drafters, endpoint.commentary.synthesizer]))
    with contextlib.ExitStack() as stack:
        llm = open_llm(stack, config, Path(tempfile.gettempdir()) / "digest-check-llama.log", None)
        results = asyncio.run(_ping_all(llm, models))
    for model, error in results.items():
        print(f"{'ok' if error is None else 'FAILED':>6}  {model}{'  ' + error if error else ''}")
    return 0 if all(e is None for e in results.values()) else EXIT_USAGE


async def _ping_all(llm: LLMClient, models: list[str]) -> dict[str, str | None]:
    async def ping(model: str) -> str | None:
        try:
            await llm.complete(model, load_prompt("check"), Ping)
        except LLMError as exc:
            return str(exc)
        return None

    try:
        return dict(zip(models, await asyncio.gather(*(ping(m) for m in models)), strict=True))
    finally:
        await llm.close()


def run_serve(args: argparse.Namespace) -> int:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(args.output))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        print(f"Serving {args.output} on http://127.0.0.1:{server.server_port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def _report(report: RunReport) -> int:
    for failure in report.failures:
        log.warning("%s", failure)
    seconds = (report.finished_at - report.started_at).total_seconds()
    what = f"Published {report.page}" if report.page else f"Not published ({len(report.failures)} problems, --strict)"
    if report.page and report.failures:
        what += " (degraded)"
    print(f"{what}: {report.usage.calls} LLM calls, {report.usage.cache_hits} cached, "
          f"{report.usage.prompt_tokens + report.usage.completion_tokens} tokens, ${report.usage.cost_usd:.4f}, "
          f"{len(report.failures)} problems, {seconds:.0f} s")
    return report.exit_status


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # On a terminal: a live progress display with the log lines above it; elsewhere plain lines.
    args.console = Console(stderr=True) if sys.stderr.isatty() and not args.quiet else None
    handler = (RichHandler(console=args.console, show_path=False) if args.console
               else logging.StreamHandler(sys.stderr))
    if not args.console:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    # Our INFO lines only: the HTTP libraries log every request at INFO.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler], force=True)
    log.setLevel(logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO)
    try:
        commands = {"build": run_build, "fetch": run_fetch, "check": run_check, "serve": run_serve, "render": run_render,
                    "schema": run_schema}
        return commands[args.command](args)
    except (ConfigError, PreflightError) as exc:
        print(f"digest: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (LockBusy, EmbeddedModelError) as exc:
        print(f"digest: {exc}; nothing published", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    except OSError as exc:
        if args.verbose:
            raise
        print(f"digest: cannot write {exc.filename or 'the output'}: {exc.strerror or exc}; "
              "nothing published, the previous page is kept", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    except KeyboardInterrupt:
        print("digest: interrupted; nothing published", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    except Exception as exc:  # a bug: one line for cron mail, the traceback with -v
        if args.verbose:
            raise
        print(f"digest: internal error: {type(exc).__name__}: {exc} (run with -v for the traceback); "
              "nothing published", file=sys.stderr)
        return EXIT_NOT_PUBLISHED


if __name__ == "__main__":
    sys.exit(main())
