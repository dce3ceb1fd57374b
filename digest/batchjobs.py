"""`digest batch export` and `digest batch import`: the day's requests as a JSONL file for an
OpenAI-format batch runner (`vllm run-batch` on a GPU cluster, or any other), and the runner's
output file read into the answer cache, after which `digest build` publishes from the cache.

A day takes up to three rounds (papers and topic plan; commentary drafts; synthesis and overview):
export, run, import, until an export writes no request. See digest.llm.batch for the file formats.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from pathlib import Path

from digest.commands import checked_folder, config_of, live_source, llm_client, replay_source
from digest.config import resolve_endpoint
from digest.errors import UsageError
from digest.fetch.sources import Pacer
from digest.files import write_atomic
from digest.llm.batch import import_output, requests_jsonl
from digest.llm.cache import AnswerCache
from digest.pipeline import Deps, batch_requests


def run_batch_export(args: argparse.Namespace) -> int:
    """Write the day's unanswered requests to `args.file` (default <data>/<date>/batch-requests.jsonl);
    no preflight: the runner, not this machine, talks to the models."""
    config = config_of(args)
    data, output = checked_folder(args.data, "--data"), checked_folder(args.output, "--output")
    target = args.file or data / args.date.isoformat() / "batch-requests.jsonl"
    with contextlib.ExitStack() as stack:
        source = replay_source(args.snapshot, args.date) if args.snapshot else live_source(stack, config, args)
        cache = stack.enter_context(AnswerCache(args.cache or data / "llm-cache.sqlite"))
        endpoint = resolve_endpoint(config.llm)
        deps = Deps(
            source=source,
            endpoint=endpoint,
            output=output,
            data=data,
            llm=functools.partial(llm_client, config, endpoint, config.llm.concurrency, cache),
            pacer=Pacer(config.arxiv.delay_seconds),
        )
        requests = batch_requests(config, deps)
    write_atomic(target, requests_jsonl(requests))
    print(f"Wrote {len(requests)} requests to {target}" + ("" if requests else ": the day is answered, build it"))
    return 0


def run_batch_import(args: argparse.Namespace) -> int:
    """Store the answers and errors of the runner's output file `args.file` in the answer cache.
    Raises UsageError for a missing file or a line that is not an output line (nothing stored)."""
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    data = checked_folder(args.data, "--data")
    with AnswerCache(args.cache or data / "llm-cache.sqlite") as cache:
        answers, errors = import_output(text, path.name, cache)
    print(f"Imported {answers} answers and {errors} errors from {path}")
    return 0
