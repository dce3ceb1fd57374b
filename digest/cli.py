"""Command line: argument parsing, logging, and the mapping of every error to its exit code
(digest.errors), with the reason as the last line on stderr. The commands are digest.commands.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from digest import __version__
from digest.batchjobs import run_batch_export, run_batch_import
from digest.commands import last_word, run_build, run_check, run_fetch, run_render, run_schema, run_serve
from digest.errors import EXIT_CODES, EXIT_NOT_PUBLISHED, ConfigError, DigestError
from digest.fetch.arxiv import today as arxiv_today

log = logging.getLogger("digest")
EPILOG = "Exit codes: " + ", ".join(f"{code} {what}" for code, what in EXIT_CODES.items()) + "."
ARXIV_FIRST_DAY = dt.date(1991, 8, 14)  # the first arXiv announcement (hep-th)
NARROW_TERMINAL = 60  # columns; below this the live display and rich's log columns would wrap


def _date(text: str) -> dt.date:
    """A --date value: YYYY-MM-DD only, from arXiv's first day to tomorrow in US Eastern time (a
    later date would go to the top of the archive and the feed)."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None
    latest = arxiv_today() + dt.timedelta(days=1)
    if date < ARXIV_FIRST_DAY or date > latest:
        raise argparse.ArgumentTypeError(
            f"{text} is outside {ARXIV_FIRST_DAY} (arXiv's first day) to {latest} (tomorrow in US Eastern time)"
        )
    return date


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number from 0 (any free port) to 65535: {text!r}")
    return port


def _options() -> dict[str, argparse.ArgumentParser]:
    """The options several commands share, each declared once (argparse parents)."""

    def one(*flags: str, **kwargs) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument(*flags, **kwargs)
        return p

    return {
        "date": one(
            "--date",
            type=_date,
            default=arxiv_today(),
            help="the arXiv announcement date, YYYY-MM-DD (default: today, US Eastern)",
        ),
        "config": one("--config", type=Path, help="sources.yaml (default: ./sources.yaml)"),
        "output": one("--output", type=Path, default=Path("output"), help="site folder (default: output/)"),
        "data": one(
            "--data",
            type=Path,
            default=Path("data"),
            help="raw responses per date, the LLM cache and run records (default: data/)",
        ),
    }


def _logging_options(p: argparse.ArgumentParser, default) -> None:
    p.add_argument("-v", "--verbose", action="store_true", default=default, help="debug logs, and tracebacks on errors")
    p.add_argument("-q", "--quiet", action="store_true", default=default, help="warnings and errors only")


def parser() -> argparse.ArgumentParser:
    """The command line. -v/-q go before or after the command (`digest -q build` as in cron lines)."""
    p = argparse.ArgumentParser(
        prog="digest",
        epilog=EPILOG,
        description="PaperBot Daily Digest: build the daily page of new arXiv papers and AI news.",
    )
    p.add_argument("--version", action="version", version=f"digest {__version__}")
    _logging_options(p, False)
    common = argparse.ArgumentParser(add_help=False)
    _logging_options(common, argparse.SUPPRESS)  # after the command: only when given, so the first position counts
    shared = _options()
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, description: str, epilog: str, *options: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help, description=description, epilog=epilog, parents=[common, *(shared[k] for k in options)]
        )

    _add_commands(command)
    return p


# name -> (help, description, epilog, the shared options it takes)
COMMANDS = {
    "build": (
        "fetch, write and render one day's page",
        "Fetch the day's papers and news, have LLMs write them up, render the page.",
        EPILOG,
        ("date", "config", "output", "data"),
    ),
    "fetch": (
        "fetch and store one day's raw responses only (no LLM)",
        "Fetch the day's arXiv announcements and news feeds into <data>/<date>/, for a later `build --snapshot`.",
        "Exit codes: 0 every source read, 3 some failed, 1 the responses could not be stored, 2 usage error.",
        ("date", "config", "data"),
    ),
    "check": (
        "validate the configuration and call each configured model once",
        "Print the effective configuration and where each LLM setting comes from, then ask every "
        "configured model for a tiny JSON answer.",
        "Exit codes: 0 all good, 2 configuration or endpoint error (the embedded model not installed included).",
        ("config",),
    ),
    "serve": (
        "preview the output folder on 127.0.0.1",
        "Serve the built site on http://127.0.0.1:PORT/ until Ctrl-C.",
        "Exit codes: 0 stopped with Ctrl-C, 2 no such folder or the port cannot be had.",
        ("output",),
    ),
    "render": (
        "rebuild the pages from stored digest.json files (no network, no LLM)",
        "Re-render every day page, the archive and the feed from the digest.json files in the output folder.",
        "Exit codes: 0 rendered, 1 the date was never built or a day's digest.json is unreadable (nothing "
        "written), 2 usage error.",
        ("config", "output"),
    ),
    "schema": (
        "print the JSON Schema of <date>/digest.json",
        "Print the JSON Schema (draft 2020-12) that every <date>/digest.json follows.",
        "",
        (),
    ),
}


def _add_commands(command) -> None:
    """Each command of COMMANDS with its own options; `command(name, help, description, epilog, *shared)`."""
    p = {
        name: command(name, helptext, description, epilog, *shared)
        for name, (helptext, description, epilog, shared) in COMMANDS.items()
    }
    b = p["build"]
    b.add_argument("--cache", type=Path, help="the LLM answer cache, SQLite (default: <data>/llm-cache.sqlite)")
    b.add_argument("--snapshot", type=Path, help="replay the raw responses stored in this folder; no network")
    b.add_argument("--strict", action="store_true", help="a degraded day is a failure: publish nothing, exit 1")
    b.add_argument(
        "--replace", action="store_true", help="publish even when the rebuild has less than the day's published page"
    )
    b.add_argument(
        "--resend", action="store_true", help="send the day's notifications again, to targets that already had them"
    )
    b.add_argument(
        "--wait", action="store_true", help="with llm.batch: wait for the batch (at most llm.batch_wait seconds)"
    )
    _add_batch(command("batch", *BATCH))
    p["serve"].add_argument("--port", type=_port, default=8000, help="port (default: 8000; 0 picks a free one)")
    p["render"].add_argument("--date", type=_date, required=True, help="the day that must be among the rendered ones")


BATCH = (
    "the day's requests for an OpenAI-format batch runner, and its output into the cache",
    "`batch export` writes the requests of the day that the answer cache cannot answer as JSONL for "
    "`vllm run-batch` (or any OpenAI-format batch runner); `batch import FILE` stores the runner's "
    "output in the cache. Repeat until an export writes no request, then `digest build` publishes.",
    "Exit codes: 0 done, 1 every source failed or a file could not be written, 2 usage error (an unreadable "
    "output line names its number).",
)


def _add_batch(batch: argparse.ArgumentParser) -> None:
    """`digest batch export` and `digest batch import`, with the options of build they share."""
    shared = _options()
    jobs = batch.add_subparsers(dest="batch_command", required=True)
    export = jobs.add_parser(
        "export",
        help="write the day's unanswered requests",
        parents=[shared[k] for k in ("date", "config", "output", "data")],
    )
    export.add_argument("--snapshot", type=Path, help="replay the raw responses stored in this folder; no network")
    export.add_argument("--file", type=Path, help="the requests file (default: <data>/<date>/batch-requests.jsonl)")
    imported = jobs.add_parser("import", help="store a runner's output file in the cache", parents=[shared["data"]])
    imported.add_argument("file", type=Path, help="the runner's output JSONL")
    for job in (export, imported):
        job.add_argument("--cache", type=Path, help="the LLM answer cache, SQLite (default: <data>/llm-cache.sqlite)")


def _logging(args: argparse.Namespace) -> None:
    """One clean line per event on stderr: rich's columns on a wide terminal (with the live display
    below them), plain timestamped lines elsewhere (cron mail, CI logs, narrow terminals)."""
    console = Console(stderr=True) if sys.stderr.isatty() and not args.quiet else None
    if console is not None and console.width < NARROW_TERMINAL:
        console = None
    args.console = console
    handler = RichHandler(console=console, show_path=False) if console else logging.StreamHandler(sys.stderr)
    # rich draws its own time and level columns; basicConfig would add its default format on top
    handler.setFormatter(logging.Formatter("%(message)s" if console else "%(asctime)s %(levelname)s %(message)s"))
    # Our INFO lines only: the HTTP libraries log every request at INFO.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler], force=True)
    log.setLevel(logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO)


_OS_ERROR_OUTCOME = {"fetch": "the responses read so far are stored", "serve": "nothing served"}


def main(argv: list[str] | None = None) -> int:
    """Run the command in `argv` (default: sys.argv); returns its exit code (digest.errors)."""
    args = parser().parse_args(argv)
    _logging(args)
    commands = {
        "build": run_build,
        "fetch": run_fetch,
        "check": run_check,
        "serve": run_serve,
        "render": run_render,
        "schema": run_schema,
        "batch": lambda a: run_batch_export(a) if a.batch_command == "export" else run_batch_import(a),
    }
    published = args.command in ("build", "render")
    try:
        return commands[args.command](args)
    except DigestError as exc:
        code = exc.exit_code
        prefix = "configuration error: " if isinstance(exc, ConfigError) else ""
        suffix = "; nothing published, the previous page is kept" if published and code == EXIT_NOT_PUBLISHED else ""
        last_word(f"{prefix}{exc}{suffix}")
        return code
    except OSError as exc:
        if args.verbose:
            raise
        outcome = _OS_ERROR_OUTCOME.get(args.command, "nothing published, the previous page is kept")
        last_word(f"cannot write {exc.filename or 'the output'}: {exc.strerror or exc}; {outcome}")
        return EXIT_NOT_PUBLISHED
    except KeyboardInterrupt:
        last_word("interrupted; nothing published" if published else "interrupted")
        return EXIT_NOT_PUBLISHED
    except Exception as exc:  # a bug: one line for cron mail, the traceback with -v
        if args.verbose:
            raise
        last_word(
            f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)"
            + ("; nothing published" if published else "")
        )
        return EXIT_NOT_PUBLISHED


if __name__ == "__main__":
    sys.exit(main())
