"""Batches of the day's requests: a provider's Batch API (the fake one over real HTTP on 127.0.0.1) and a
batch runner's requests and output files, with the answer cache as the ledger of what was asked.

The "day" here is a small write stage with the shape of the real one: independent requests (paper
summaries) and one that depends on their answers (a digest of the summaries), skipped while they are
deferred (digest.llm.deferral.watched), as the pipeline skips the overview.
"""

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from conftest import SUMMARY_ASK
from fake_batch import FakeBatchAPI

from digest.config import LLMConfig, resolve_endpoint
from digest.llm.batch import (
    EXIT_PENDING,
    BatchPending,
    ProviderBatches,
    deferred_requests,
    import_output,
    requests_jsonl,
    run_batched,
)
from digest.llm.cache import AnswerCache
from digest.llm.client import LLMClient, LLMError
from digest.llm.deferral import watched
from digest.llm.prompts import load_prompt
from digest.llm.request import build_request
from digest.llmconfig import Price
from digest.models import PaperSummary

DAY = "2026-04-30"
TITLES = ("Agents that plan", "Small models reason")
ID = "2604.00001"


class TablePrice(Price):
    """A price-table row with the optional batch and cached-prompt rates (USD per million tokens)."""

    batch_prompt: float | None = None
    batch_completion: float | None = None
    cached_prompt: float | None = None


PRICE = TablePrice(prompt=2.0, completion=8.0, batch_prompt=1.0, batch_completion=4.0, cached_prompt=0.5)


def _endpoint(api):
    return resolve_endpoint(LLMConfig(base_url=api.base_url), environ={"OPENAI_API_KEY": "k"})


def _client(api, cache):
    return LLMClient(_endpoint(api), concurrency=2, timeout=5, temperature=0, cache=cache, prices={"m": PRICE})


async def _summary(llm: LLMClient, title: str):
    """One summary as the write stage asks for it; None when it failed or was deferred."""
    block = f"<paper>\narXiv id: {ID}\nTitle: {title}\nAbstract: We study {title.lower()}.\n</paper>"
    try:
        done = await llm.complete(
            "m", load_prompt("paper_summary"), PaperSummary, paper_block=block, arxiv_id=ID, **SUMMARY_ASK
        )
    except LLMError:
        return None
    return done.value.summary


async def _summaries(llm: LLMClient) -> list:
    return list(await asyncio.gather(*(_summary(llm, t) for t in TITLES)))


async def _day(llm: LLMClient) -> list:
    """Both summaries, then the digest of them; the digest is not asked while a summary is deferred."""
    summaries, waiting = await watched(_summaries(llm))
    if waiting:
        return summaries
    return [*summaries, await _summary(llm, "Digest: " + " / ".join(s or "" for s in summaries))]


def _run(api, cache, wait=0.0, **limits):
    """One build of the day in batch mode: (its result, the client's usage and batch answers); `limits`:
    ProviderBatches' max_requests and max_bytes."""

    async def go():
        async with _client(api, cache) as llm, ProviderBatches(_endpoint(api), cache, poll=0.01, **limits) as batches:
            result = await run_batched(DAY, llm, batches, lambda: _day(llm), wait=wait)
            return result, llm

    return asyncio.run(go())


def _summary_request(title):
    block = f"<paper>\narXiv id: {ID}\nTitle: {title}\nAbstract: We study {title.lower()}.\n</paper>"
    prompt = load_prompt("paper_summary")
    return build_request("json_schema", "m", prompt, PaperSummary, 0, paper_block=block, arxiv_id=ID, **SUMMARY_ASK)


def test_submit_pending_collect_and_a_rerun_submits_nothing(tmp_path):
    cache = AnswerCache(tmp_path / "llm-cache.sqlite")
    with FakeBatchAPI(pending_checks=2) as api:  # in progress at two checks
        with pytest.raises(BatchPending, match="still running") as pending:
            _run(api, cache)
        assert pending.value.exit_code == EXIT_PENDING == 4
        assert api.live == [] and len(api.batches) == 1  # submitted, nothing sent live, the digest not asked
        (batch,) = api.batches.values()
        assert batch["endpoint"] == "/v1/chat/completions" and batch["completion_window"] == "24h"
        lines = [json.loads(line) for line in api.files[batch["input_file_id"]].decode().splitlines()]
        wanted = [_summary_request(t) for t in TITLES]
        # Each line is exactly the request the live client would post, under its answer cache key.
        assert [(line["custom_id"], line["body"]) for line in lines] == [(r.key, r.body()) for r in wanted]

        with pytest.raises(BatchPending):  # still running: the rerun submits nothing again
            _run(api, cache)
        assert len(api.batches) == 1 and api.batched == []

        result, llm = _run(api, cache)  # finished: collected, the dependent request sent live
        assert (
            len(api.batched) == 2
            and len(api.live) == 1
            and "Digest: Fake summary" in api.live[0]["messages"][1]["content"]
        )
        assert result[0].startswith("Fake summary about Agents") and result[2].startswith("Fake summary about Digest")
        assert llm.usage.batch_answers == 2 and llm.usage.calls == 1
        batched_cost = sum(
            (b["usage"]["prompt_tokens"] * 1.0 + b["usage"]["completion_tokens"] * 4.0) / 1e6 for b in _bodies(api)
        )
        live = api.llm.answer(api.live[0])[1]["usage"]
        assert llm.usage.cost_usd == pytest.approx(
            batched_cost + (live["prompt_tokens"] * 2 + live["completion_tokens"] * 8) / 1e6
        )

        again, llm = _run(api, cache)  # the rerun: every answer from the cache, nothing submitted or sent
        assert again == result and len(api.batches) == 1 and len(api.live) == 1 and llm.usage.calls == 0


def _bodies(api):
    """The chat completions every batch of `api` answered (from its output files)."""
    out = []
    for batch in api.batches.values():
        if batch.get("output_file_id"):
            text = api.files[batch["output_file_id"]].decode()
            out += [json.loads(line)["response"]["body"] for line in text.splitlines()]
    return out


def test_a_request_that_failed_inside_the_batch_is_sent_live_once(tmp_path):
    cache = AnswerCache(tmp_path / "llm-cache.sqlite")
    with FakeBatchAPI() as api:
        api.llm.behaviour["m"] = ["error", "ok"]  # the batch's first request fails (HTTP 500), the rest answer
        result, llm = _run(api, cache, wait=5)
        assert len(api.batches) == 1 and len(api.batched) == 2
        first = api.files[api.batches["batch_1"]["error_file_id"]].decode()
        assert json.loads(first)["response"]["status_code"] == 500
        assert all(result) and len(result) == 3
        assert len(api.live) == 2 and llm.usage.batch_answers == 1  # the failed one, then the dependent one
        assert api.live[0]["messages"] == _summary_request(TITLES[0]).messages
        _run(api, cache, wait=5)
        assert len(api.batches) == 1 and len(api.live) == 2  # nothing asked twice


def test_an_expired_batch_is_submitted_again_for_what_it_did_not_reach(tmp_path):
    cache = AnswerCache(tmp_path / "llm-cache.sqlite")
    with FakeBatchAPI() as api:
        api.outcomes = ["expired"]  # runs the first request only
        result, llm = _run(api, cache, wait=5)
        assert len(api.batches) == 2 and all(result) and len(api.live) == 1  # only the dependent one live
        second = api.files[api.batches["batch_2"]["input_file_id"]].decode().splitlines()
        assert [json.loads(line)["custom_id"] for line in second] == [_summary_request(TITLES[1]).key]
        assert [s["state"] for s in _states(cache)] == ["expired", "completed"]


def test_a_create_whose_answer_was_lost_leaves_one_batch(tmp_path):
    cache = AnswerCache(tmp_path / "llm-cache.sqlite")
    with FakeBatchAPI() as api:
        api.lose_creates = 1  # the provider creates the batch; its answer never reaches the client
        result, llm = _run(api, cache, wait=5)
        assert len(api.batches) == 1 and all(result) and len(api.live) == 1 and llm.usage.batch_answers == 2
        assert [s["id"] for s in _states(cache)] == ["batch_1"]


def test_a_batch_created_by_a_run_killed_before_recording_it_is_collected_not_submitted_again(tmp_path):
    path = tmp_path / "llm-cache.sqlite"
    with FakeBatchAPI(pending_checks=1) as api:
        with pytest.raises(BatchPending):
            _run(api, AnswerCache(path))
        # What a kill right after batches.create leaves: the batch at the provider, none in the ledger.
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute("DELETE FROM batches")
        result, llm = _run(api, AnswerCache(path), wait=5)
        assert len(api.batches) == 1 and len(api.batched) == 2 and all(result) and llm.usage.batch_answers == 2
        assert len(api.live) == 1  # the dependent request only


def test_requests_past_the_provider_limits_go_as_several_batches(tmp_path):
    with FakeBatchAPI() as api:
        result, llm = _run(api, AnswerCache(tmp_path / "by-count.sqlite"), wait=5, max_requests=1)
        assert len(api.batches) == 2 and all(result) and llm.usage.batch_answers == 2
        sizes = [len(api.files[b["input_file_id"]]) for b in api.batches.values()]
    with FakeBatchAPI() as api:  # the first request's file fits the limit, both together do not
        result, llm = _run(api, AnswerCache(tmp_path / "by-size.sqlite"), wait=5, max_bytes=sizes[0] + 10)
        assert len(api.batches) == 2 and all(result) and llm.usage.batch_answers == 2
        inputs = [api.files[b["input_file_id"]].decode().splitlines() for b in api.batches.values()]
        assert [len(lines) for lines in inputs] == [1, 1]


def _states(cache):
    return [{"id": r.id, "state": r.state} for r in cache.batches(DAY)]


RUNNER = textwrap.dedent(
    """
    # Stands in for `vllm run-batch -i IN -o OUT`: posts each request line's body to the server and writes
    # vLLM's output lines, with a prefix-cache count in each usage as vLLM reports it.
    import json, sys, urllib.request
    source, target, url = sys.argv[1:]
    with open(source) as lines, open(target, "w") as out:
        for n, line in enumerate(lines):
            request = json.loads(line)
            sent = urllib.request.Request(url + "/chat/completions", json.dumps(request["body"]).encode(),
                                          {"Content-Type": "application/json"})
            body = json.loads(urllib.request.urlopen(sent).read())
            body["usage"]["prompt_tokens_details"] = {"cached_tokens": body["usage"]["prompt_tokens"] // 2}
            response = {"status_code": 200, "request_id": f"vllm-batch-{n}", "body": body}
            out.write(json.dumps({"id": f"vllm-{n}", "custom_id": request["custom_id"], "response": response,
                                  "error": None}) + "\\n")
    """
)


def test_export_runner_import_round_trip_leaves_no_live_call(tmp_path):
    cache = AnswerCache(tmp_path / "llm-cache.sqlite")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    with FakeBatchAPI() as api, FakeBatchAPI() as vllm:  # the build's endpoint, and the runner's server
        read = []  # per export: (batch answers read, prompt tokens served from the runner's prefix cache)

        async def export():
            async with _client(api, cache) as llm:
                _, requests = await deferred_requests(llm, lambda: _day(llm), resend_failed=True)
                read.append((llm.usage.batch_answers, llm.usage.cached_prompt_tokens))
                return requests

        rounds = []
        while requests := asyncio.run(export()):
            exported, output = tmp_path / f"requests-{len(rounds)}.jsonl", tmp_path / f"output-{len(rounds)}.jsonl"
            exported.write_text(requests_jsonl(requests))
            subprocess.run([sys.executable, str(runner), str(exported), str(output), vllm.base_url], check=True)
            rounds.append(import_output(output.read_text(), output.name, cache))
        assert rounds == [(2, 0), (1, 0)]  # the summaries, then the digest that depends on them
        bodies = _runner_bodies(tmp_path)
        assert sum(n for n, _ in read) == 3 and sum(c for _, c in read) == sum(
            b["usage"]["prompt_tokens"] // 2 for b in bodies
        )

        async def build():
            async with _client(api, cache) as llm:
                return await _day(llm), llm

        result, llm = asyncio.run(build())
        assert all(result) and api.live == [] and llm.usage.calls == 0 and llm.usage.cache_hits == 3
        # What the answers cost is kept, at the batch price with the cached prompt tokens at the cached rate.
        cost = sum(_batch_cost(b["usage"]) for b in bodies)
        assert llm.usage.reused_cost_usd == pytest.approx(cost)


def _batch_cost(usage):
    cached = usage["prompt_tokens"] // 2
    return ((usage["prompt_tokens"] - cached) * 1.0 + cached * 0.5 + usage["completion_tokens"] * 4.0) / 1e6


def _runner_bodies(tmp_path):
    return [
        json.loads(line)["response"]["body"]
        for f in sorted(tmp_path.glob("output-*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def test_a_bad_output_line_is_refused_naming_it(tmp_path):
    cache = AnswerCache(tmp_path / "llm-cache.sqlite")
    with pytest.raises(Exception, match=r"out.jsonl, line 2: not a batch output line"):
        import_output(
            '{"custom_id": "k", "response": null, "error": {"message": "x"}}\n{"id": 1}\n', "out.jsonl", cache
        )
    assert cache.result("k") is None  # nothing stored


def test_cached_prompt_tokens_are_read_and_priced_at_the_cached_rate(tmp_path):
    with FakeBatchAPI(cached_share=0.5) as api:

        async def go():
            async with _client(api, AnswerCache(None)) as llm:
                await _summary(llm, TITLES[0])
                return llm

        llm = asyncio.run(go())
        usage = api.llm.answer(api.live[0])[1]["usage"]
        cached = usage["prompt_tokens"] // 2
        assert llm.usage.cached_prompt_tokens == cached > 0
        expected = ((usage["prompt_tokens"] - cached) * 2.0 + cached * 0.5 + usage["completion_tokens"] * 8.0) / 1e6
        assert llm.usage.cost_usd == pytest.approx(expected)
