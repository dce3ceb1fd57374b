"""The commands behind `digest build | fetch | check | serve | render | schema`: each takes the
parsed arguments and returns its exit code, or raises a DigestError (digest.errors) whose message
is the reason. They build the real dependencies of a run: the HTTP client or a snapshot, the LLM
endpoint or the embedded server, the answer cache, the lock on the output folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import fcntl
import functools
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from digest.config import (
    Config,
    Endpoint,
    check_prices,
    load_config,
    masked,
    models_in_use,
    resolve_endpoint,
    with_environment,
)
from digest.deliver.settings import check as check_notify
from digest.errors import EXIT_DEGRADED, EXIT_PUBLISHED, EXIT_USAGE, DigestError, NotPublished, UsageError
from digest.fetch.http import Policy, make_client
from digest.fetch.sources import LiveSource, Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.files import remove_partial_files
from digest.llm.cache import AnswerCache
from digest.llm.client import LLMClient, LLMError, PreflightError
from digest.llm.embeddings import Embedder
from digest.llm.local import EmbeddedModelError, embedded_server
from digest.llm.policy import Budget
from digest.llm.prompts import load_prompt
from digest.models import Ping, RunReport
from digest.pipeline import Deps, build, fetch, store_fulltexts
from digest.progress import LiveReporter, Reporter
from digest.render.publish import render_site
from digest.render.search import index_site
from digest.render.site import json_schema
from digest.select.reader import EMBEDDED
from digest.serve import serve
from digest.words import plural

log = logging.getLogger("digest")


class LockBusy(DigestError):
    """Another digest run holds the lock on the output folder."""


def config_of(args: argparse.Namespace) -> Config:
    """The named --config, or ./sources.yaml, with the environment's overrides; a named file that
    does not exist is a ConfigError."""
    return with_environment(load_config(args.config or Path("sources.yaml")))


@contextlib.contextmanager
def run_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive flock on the output folder itself for the block; raise LockBusy at once if
    another run holds it.

    Locking the folder (not a file in it) keeps the published site free of lock files; the kernel
    releases a flock when its process dies, so a killed run never leaves a stale lock.
    """
    output.mkdir(parents=True, exist_ok=True)
    fd = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(f"another digest run is writing to {output}") from None
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def checked_folder(path: Path, option: str) -> Path:
    """`path` unless it exists and is not a folder (a UsageError naming the option)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a folder")
    return path


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=1, ensure_ascii=False))
    return 0


def run_render(args: argparse.Namespace) -> int:
    site = (config_of(args) if args.config or Path("sources.yaml").exists() else with_environment(Config())).site
    if not args.output.is_dir():
        raise UsageError(f"--output {args.output} is not a folder: nothing to render")
    if not (args.output / args.date.isoformat() / "digest.json").exists():
        raise NotPublished(f"no {args.date}/digest.json in {args.output}: build the day first")
    with run_lock(args.output):
        days = [d.date for d in render_site(args.output, site)]
        years = index_site(args.output)  # every year: the pages it indexes were all rewritten
    print(
        f"Rendered {args.output / args.date.isoformat() / 'index.html'} ({plural(len(days), 'day')} in the archive, "
        f"search index of {plural(len(years), 'year')})"
    )
    return 0


def start_endpoint(stack: contextlib.ExitStack, config: Config, server_log: Path) -> tuple[Endpoint, int]:
    """The run's endpoint and how many requests it takes at once; starts the embedded model
    (stopped with `stack`, its output in `server_log`) when no endpoint is configured. Raises
    ConfigError for a USD budget without prices, EmbeddedModelError when the model cannot start."""
    endpoint = resolve_endpoint(config.llm)
    check_prices(config, endpoint)  # before anything is fetched or started
    if not endpoint.embedded:
        return endpoint, config.llm.concurrency
    log.info("no LLM endpoint configured: starting the embedded model")
    server_log.parent.mkdir(parents=True, exist_ok=True)
    url = stack.enter_context(
        embedded_server(config.llm.embedded.n_ctx, config.llm.embedded.startup_timeout, log=server_log)
    )
    return endpoint.model_copy(update={"base_url": url}), 1  # llama.cpp's server answers one request at a time


def llm_client(
    config: Config, endpoint: Endpoint, concurrency: int, cache: AnswerCache | None = None, preflight: bool = False
) -> LLMClient:
    """A new client for one run (its own budget), to be entered in that run's event loop."""
    b = config.llm.budget
    return LLMClient(
        endpoint,
        concurrency,
        config.llm.timeout,
        config.llm.temperature,
        cache=cache,
        budget=Budget(b.max_calls, b.max_tokens, b.max_usd),
        prices=config.llm.prices,
        preflight=preflight,
    )


def live_source(stack: contextlib.ExitStack, config: Config, args: argparse.Namespace) -> LiveSource:
    """A network source storing under `args.data`, with the config's fetch policy."""
    f = config.fetch
    policy = Policy(frozenset(f.allow_private), f.max_body_bytes, f.deadline_seconds)
    return LiveSource(stack.enter_context(make_client()), SnapshotStore(args.data, args.date), policy, f.per_host)


def replay_source(snapshot: Path, date: dt.date) -> ReplaySource:
    """The stored responses of `date` under `snapshot`; a UsageError when there are none (a typo must
    not publish an empty day over a good one)."""
    store = SnapshotStore(snapshot, date)
    if not (store.dir / "index.json").is_file():
        where = "does not exist" if not snapshot.is_dir() else f"has no {date}/index.json"
        raise UsageError(f"--snapshot {snapshot} {where}: nothing to replay")
    return ReplaySource(store)


def _remove_internals(output: Path) -> None:
    """Delete what earlier versions kept in the site folder (the lock file, the embedded server's log)."""
    for name in (".digest.lock", "llama-server.log"):
        (output / name).unlink(missing_ok=True)


def run_build(args: argparse.Namespace) -> int:
    config = config_of(args)
    check_notify(config.notify, config.site.url)  # before anything is fetched: a message needs site.url
    data, output = checked_folder(args.data, "--data"), checked_folder(args.output, "--output")
    with contextlib.ExitStack() as stack:
        source = replay_source(args.snapshot, args.date) if args.snapshot else live_source(stack, config, args)
        stack.enter_context(run_lock(output))
        _remove_internals(output)
        remove_partial_files(data)  # a killed run's staged run record
        cache = stack.enter_context(AnswerCache(args.cache or data / "llm-cache.sqlite"))
        batch = config.llm.batch and not resolve_endpoint(config.llm).embedded  # the embedded model answers live
        endpoint, concurrency = start_endpoint(stack, config, data / "llama-server.log")
        progress = LiveReporter(args.console) if args.console else Reporter()
        stack.callback(progress.close)
        wanted = {config.reader.embeddings, config.news.embeddings} - {None, EMBEDDED}
        embedder = stack.enter_context(Embedder(endpoint, cache, timeout=config.llm.timeout)) if wanted else None
        deps = Deps(
            embedder=embedder,
            batch=batch,
            batch_wait=config.llm.batch_wait if args.wait else 0.0,
            source=source,
            endpoint=endpoint,
            output=output,
            data=data,
            llm=functools.partial(llm_client, config, endpoint, concurrency, cache, preflight=True),
            pacer=Pacer(config.arxiv.delay_seconds),
            progress=progress,
        )
        report = build(config, deps, strict=args.strict, replace=args.replace, resend=args.resend)
    return _report(report, data)  # after the progress display has stopped


def run_fetch(args: argparse.Namespace) -> int:
    config = config_of(args)
    checked_folder(args.data, "--data")
    with contextlib.ExitStack() as stack:
        source, pacer = live_source(stack, config, args), Pacer(config.arxiv.delay_seconds)
        snapshot = fetch(config, source, pacer)
        if config.papers.fulltext != "abstract":
            _store_fulltexts(snapshot, config, source, pacer)
    for status in snapshot.sources:
        print(f"{status.state:>12}  {status.items:4d}  {status.source}{'  ' + status.reason if status.reason else ''}")
    print(
        f"Stored {args.data / args.date.isoformat()}: {plural(len(snapshot.papers), 'paper')}, "
        f"{plural(len(snapshot.articles), 'article')}{' (backfilled)' if snapshot.backfilled else ''}"
    )
    failed = [s for s in snapshot.sources if s.failed or s.state == "truncated"]
    if failed:
        last_word(
            f"{plural(len(failed), 'source')} of {len(snapshot.sources)} failed (listed above); what was read is stored"
        )
        return EXIT_DEGRADED
    return 0


def _store_fulltexts(snapshot, config: Config, source, pacer: Pacer) -> None:
    papers = store_fulltexts(snapshot, config, source, pacer)
    if papers is None:
        log.warning(
            "papers.rank is triage: the full texts depend on the model's choice and are not stored; "
            "a `build --snapshot` lists the ones it lacks"
        )
    else:
        read = sum(p.fulltext is not None for p in papers)
        print(f"Full texts: {read} of the {plural(len(papers), 'paper')} a build would write up")


def run_check(args: argparse.Namespace) -> int:
    config = config_of(args)
    endpoint = resolve_endpoint(config.llm)
    effective = config.llm.model_copy(
        update={"base_url": endpoint.base_url, "models": endpoint.models, "commentary": endpoint.commentary}
    )
    shown = masked(config.model_copy(update={"llm": effective}))
    print(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True), end="")
    for key, value, origin in llm_origins(config, endpoint):
        print(f"# {key}: {value}  ({origin})")
    print(
        f"# site.url: {config.site.url or 'not set (feed links are relative)'}  "
        f"({'from DIGEST_SITE_URL' if os.environ.get('DIGEST_SITE_URL') else 'from the config file or default'})"
    )
    models = models_in_use(config, endpoint)
    try:
        with contextlib.ExitStack() as stack:
            started, concurrency = start_endpoint(stack, config, Path(tempfile.gettempdir()) / "digest-check-llama.log")
            # the pings are no run: the budget does not apply to them
            results = asyncio.run(_ping_all(LLMClient(started, concurrency, config.llm.timeout, 0.0), models))
    except EmbeddedModelError as exc:
        raise PreflightError(str(exc)) from None
    for model, error in results.items():
        print(f"{'ok' if error is None else 'FAILED':>6}  {model}{'  ' + error if error else ''}")
    failed = [m for m, e in results.items() if e is not None]
    if failed:
        last_word(f"{plural(len(failed), 'model')} of {len(results)} did not answer: {', '.join(failed)}")
        return EXIT_USAGE
    return 0


def llm_origins(
    config: Config, endpoint: Endpoint, environ: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(setting, effective value, where it comes from) for the endpoint, the key and the models:
    the environment (OPENAI_BASE_URL, the key variable, DIGEST_MODEL), the file, or a default."""
    env = os.environ if environ is None else environ
    llm = config.llm

    def origin(variable: str, in_file: bool) -> str:
        if endpoint.embedded and variable == "DIGEST_MODEL":
            return "embedded model"
        if env.get(variable):
            return f"from {variable}"
        return "from the config file" if in_file else "default"

    key = origin(llm.api_key_env, False) if endpoint.api_key else f"{llm.api_key_env} is not set"
    rows = [
        (
            "base_url",
            endpoint.base_url or "embedded model (no endpoint and no key)",
            origin("OPENAI_BASE_URL", "base_url" in llm.model_fields_set),
        ),
        ("API key", "set" if endpoint.api_key else "not set", key),
    ]
    in_file = "models" in llm.model_fields_set
    rows += [
        (f"models.{task}", model, origin("DIGEST_MODEL", in_file and task in llm.models.model_fields_set))
        for task, model in endpoint.models.model_dump().items()
    ]
    in_file = "commentary" in llm.model_fields_set
    rows += [
        ("commentary.drafters", ", ".join(endpoint.commentary.drafters), origin("DIGEST_MODEL", in_file)),
        ("commentary.synthesizer", endpoint.commentary.synthesizer, origin("DIGEST_MODEL", in_file)),
    ]
    return rows


async def _ping_all(llm: LLMClient, models: list[str]) -> dict[str, str | None]:
    async def ping(model: str) -> str | None:
        try:
            await llm.complete(model, load_prompt("check"), Ping)
        except LLMError as exc:
            return str(exc)
        return None

    async with llm:
        return dict(zip(models, await asyncio.gather(*(ping(m) for m in models)), strict=True))


def run_serve(args: argparse.Namespace) -> int:
    serve(args.output, args.port, announce=functools.partial(print, flush=True))
    return 0


def last_word(reason: str) -> None:
    """The line that closes stderr on a non-zero exit: why (README: "the last line on stderr says why")."""
    print(f"digest: {reason}", file=sys.stderr)


def _report(report: RunReport, data: Path) -> int:
    for failure in report.failures:
        log.warning("%s", failure)
    seconds = (report.finished_at - report.started_at).total_seconds()
    problems = plural(len(report.failures), "problem")
    what = f"Published {report.page}" if report.page else f"Not published ({problems}, --strict)"
    if report.page and report.failures:
        what += " (degraded)"
    print(
        f"{what}: {plural(report.usage.calls, 'LLM call')}, {report.usage.cache_hits} cached, "
        f"{plural(report.usage.prompt_tokens + report.usage.completion_tokens, 'token')}, "
        f"${report.usage.cost_usd:.4f}, {problems}, {seconds:.0f} s"
    )
    record = data / report.date.isoformat() / ("run.json" if report.page else "run-failed.json")
    if report.exit_status == EXIT_DEGRADED:
        last_word(f"published but degraded: {problems} (listed above and in {record})")
    elif report.exit_status != EXIT_PUBLISHED:
        last_word(f"not published: {problems} and --strict; the previous page is kept (see {record})")
    return report.exit_status
