"""The day's requests as a batch: a provider's Batch API (OpenAI's `/v1/files` and `/v1/batches`),
or a requests file for a batch runner (`vllm run-batch`, or any OpenAI-format runner) and the import
of its output, behind the same requests the live client sends.

A line of the requests file is `{"custom_id", "method": "POST", "url": "/v1/chat/completions",
"body"}`: `body` is exactly what the live client posts (Request.body) and `custom_id` the request's
answer cache key. A line of an output file (OpenAI's output and error files, vLLM's run_batch
output) is `{"id", "custom_id", "response": {"status_code", "request_id", "body": <ChatCompletion>},
"error"}`; its answer or error is stored under `custom_id` (AnswerCache.put_results), where the
client finds it as it would a live answer.

The answer cache is the ledger: `batches` records every batch submitted (one per model: a provider
batch holds the requests of one model; more when they pass the Batch API's limits of 50,000 requests
and a 200 MB file), so a rerun while a batch is open submits nothing; once it is collected its
requests are answered there, and a rerun asks none of them again. A request that failed inside a
batch is sent live; the requests an expired batch did not reach are submitted anew. A batch tells
the provider the hash of its requests file (metadata `digest_requests`): before creating one, the
provider's batches are looked through for it, so a run killed between creating a batch and recording
it, or a create whose answer was lost, leaves one batch at the provider, never two.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import openai

from digest.config import Endpoint
from digest.errors import EXIT_PENDING, DigestError, UsageError
from digest.llm.cache import AnswerCache, BatchRecord
from digest.llm.client import LLMClient
from digest.llm.deferral import Deferral
from digest.llm.request import Request

T = TypeVar("T")
log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"  # the only window OpenAI's Batch API offers
SUBMITTED = "submitted"  # a recorded batch's state until it is collected
OPEN = frozenset({"validating", "in_progress", "finalizing", "cancelling"})  # the provider's unfinished states
EXPIRED = "expired"
HELD = OPEN | {"completed"}  # a batch the provider still runs or has answered: its answers are there to collect
# OpenAI's Batch API takes at most 50,000 requests and a 200 MB input file per batch (its Batch guide).
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
NOT_REACHED = "batch_expired"  # the error code of a request an expired batch never ran


class BatchPending(DigestError):
    """A batch of the day's requests is still running at the provider (exit 4): nothing is published;
    the next run for the date collects it."""

    exit_code = EXIT_PENDING


def request_line(request: Request) -> dict:
    """The requests-file line of `request`: its cache key as `custom_id`, its live request body."""
    return {"custom_id": request.key, "method": "POST", "url": ENDPOINT, "body": request.body()}


def requests_jsonl(requests: Iterable[Request]) -> str:
    """The requests file (JSON Lines, one request_line per request) of `requests`."""
    return "".join(_jsonl(r) for r in requests)


def _jsonl(request: Request) -> str:
    return json.dumps(request_line(request), ensure_ascii=False) + "\n"


def read_output(text: str, name: str) -> dict[str, dict | str]:
    """The answers of an output file's `text` (JSON Lines) named `name`: custom_id -> the response
    body (a chat completion) for status 200, else the error as a message. Requests an expired batch
    never ran are left out (they are submitted again). Raises UsageError naming the line that is not
    an output line."""
    results: dict[str, dict | str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            key, response, error = entry["custom_id"], entry.get("response"), entry.get("error")
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{name}, line {number}: not a batch output line ({exc})") from None
        if isinstance(error, dict) and error.get("code") == NOT_REACHED:
            continue
        body = response.get("body") if isinstance(response, dict) else None
        if isinstance(response, dict) and response.get("status_code") == 200 and isinstance(body, dict):
            results[key] = body
        else:
            results[key] = _error_message(error, response)
    return results


def _error_message(error: object, response: object) -> str:
    """What went wrong with one request of a batch, as its output line says."""
    if isinstance(error, dict):
        return str(error.get("message") or error)[:300]
    if isinstance(response, dict):
        detail = (response.get("body") or {}).get("error") if isinstance(response.get("body"), dict) else None
        message = detail.get("message") if isinstance(detail, dict) else detail
        return f"HTTP {response.get('status_code')}: {message or 'no answer'}"[:300]
    return str(error or "no answer")[:300]


def import_output(text: str, name: str, cache: AnswerCache) -> tuple[int, int]:
    """Store a runner's output file (`text`, named `name`) in `cache`: (answers, errors) stored.
    Raises UsageError naming a line that is not an output line (nothing is stored then)."""
    results = read_output(text, name)
    cache.put_results(name, results)
    errors = sum(isinstance(r, str) for r in results.values())
    return len(results) - errors, errors


def chunks(requests: list[Request], max_requests: int, max_bytes: int) -> list[tuple[list[Request], str]]:
    """`requests` in order, cut into runs of at most `max_requests` whose requests file is at most
    `max_bytes` bytes (a request larger than that alone), each with its requests file."""
    runs: list[tuple[list[Request], list[str]]] = []
    size = 0
    for request in requests:
        line = _jsonl(request)
        if not runs or len(runs[-1][0]) >= max_requests or size + len(line.encode()) > max_bytes:
            runs.append(([], []))
            size = 0
        runs[-1][0].append(request)
        runs[-1][1].append(line)
        size += len(line.encode())
    return [(chunk, "".join(lines)) for chunk, lines in runs]


async def deferred_requests(
    llm: LLMClient, write: Callable[[], Awaitable[T]], resend_failed: bool
) -> tuple[T, list[Request]]:
    """`write()` (the write stage) run once with every request that the cache and the batches cannot
    answer recorded instead of sent (digest.llm.deferral): its result (whole only when nothing was
    recorded) and the requests, in the order first asked. `resend_failed`: a request a batch
    answered with an error is recorded too (else it is sent live)."""
    deferral = llm.deferral = Deferral(resend_failed)
    try:
        return await write(), list(deferral.requests.values())
    finally:
        llm.deferral = None


class ProviderBatches:
    """A provider's Batch API through the openai SDK (files.create, batches.create/list/retrieve,
    files.content), with `cache` as the ledger; `poll`: seconds between status checks; a batch holds at
    most `max_requests` requests and `max_bytes` bytes of requests file (the provider's limits).

    `async with ProviderBatches(endpoint, cache) as batches:` owns the SDK client.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        cache: AnswerCache,
        poll: float = 60.0,
        timeout: float = 120.0,
        max_requests: int = MAX_REQUESTS,
        max_bytes: int = MAX_BYTES,
    ):
        self.cache = cache
        self.poll = poll
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.base_url, api_key=endpoint.api_key or "not-needed", timeout=timeout
        )

    async def __aenter__(self) -> ProviderBatches:
        return self

    async def __aexit__(self, *exc) -> None:
        await self._client.close()

    async def submit(self, day: str, requests: list[Request]) -> list[BatchRecord]:
        """Upload `requests` (of `day`, ISO date) and create one batch per model and per provider
        limit's worth of them (`chunks`); each is recorded in the ledger as it is created, or as it is
        found at the provider already. Raises openai.APIError when the provider refuses."""
        by_model: dict[str, list[Request]] = {}
        for request in requests:
            by_model.setdefault(request.model, []).append(request)
        records = []
        for model, group in by_model.items():
            for n, (chunk, text) in enumerate(chunks(group, self.max_requests, self.max_bytes)):
                name = f"digest-{day}-{model.replace('/', '_')}" + (f"-{n + 1}" if n else "")
                batch = await self._create(day, name, text)
                record = BatchRecord(batch.id, day, model, tuple(r.key for r in chunk), time.time())
                self.cache.add_batch(record)
                log.info("submitted batch %s: %d requests to %s", batch.id, len(chunk), model)
                records.append(record)
        return records

    async def _create(self, day: str, name: str, text: str):
        """The provider's batch of the requests file `text` (named `name`) for `day`: one it holds
        already (`_held`), else one uploaded and created now. The create is not retried by the SDK: when
        its answer is lost, the provider is asked whether it made the batch all the same."""
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        held = await self._held(day, digest)
        if held is not None:
            log.info("batch %s of these requests is at the provider already", held.id)
            return held
        upload = await self._client.files.create(file=(f"{name}.jsonl", text.encode()), purpose="batch")
        try:
            return await self._client.with_options(max_retries=0).batches.create(
                input_file_id=upload.id,
                endpoint=ENDPOINT,
                completion_window=COMPLETION_WINDOW,
                metadata={"digest_day": day, "digest_requests": digest},
            )
        except openai.APIConnectionError:  # timeouts too: the provider may have created it
            held = await self._held(day, digest)
            if held is None:
                raise
            return held

    async def _held(self, day: str, digest: str):
        """The newest batch among the provider's latest 100 that asks `day`'s requests file hashed
        `digest` and is running or completed (an expired, failed or cancelled one is not); None."""
        page = await self._client.batches.list(limit=100)
        for batch in page.data:  # newest first
            metadata = batch.metadata or {}
            if metadata.get("digest_day") == day and metadata.get("digest_requests") == digest and batch.status in HELD:
                return batch
        return None

    async def settle(self, records: list[BatchRecord], wait: float) -> list[str] | None:
        """Collect every batch of `records` that has finished, checking every `poll` seconds for at
        most `wait` seconds (0: check once); the final states, or None while some are still running."""
        deadline = time.monotonic() + wait
        states: list[str] = []
        while True:
            running = []
            for record in records:
                batch = await self._client.batches.retrieve(record.id)
                if batch.status in OPEN:
                    running.append(record)
                else:
                    states.append(await self._collect(record, batch))
            if not running:
                return states
            if time.monotonic() + self.poll > deadline:
                return None
            await asyncio.sleep(self.poll)
            records = running

    async def _collect(self, record: BatchRecord, batch) -> str:
        """Store the answers and errors of the finished `batch` and mark `record` collected; a request
        it holds no line for failed inside it (sent live), unless the batch expired before reaching it
        (submitted again). Returns the batch's final status."""
        results: dict[str, dict | str] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                text = (await self._client.files.content(file_id)).text
                results |= read_output(text, f"batch {record.id}")
        if batch.status != EXPIRED:
            reason = f"batch {batch.status} without an answer for it: {batch.errors or ''}"[:300]
            results |= {key: reason for key in record.keys if key not in results}
        self.cache.put_results(record.id, results)
        self.cache.set_batch_state(record.id, batch.status)
        log.info("collected batch %s (%s): %d of %d requests", record.id, batch.status, len(results), len(record.keys))
        return batch.status


async def run_batched(
    day: str, llm: LLMClient, batches: ProviderBatches, write: Callable[[], Awaitable[T]], wait: float = 0.0
) -> T:
    """The result of `write()` (the write stage, asking through `llm`) for `day` (ISO date) with the
    day's requests sent as provider batches, waiting at most `wait` seconds for each.

    A batch of the day still open is collected when it has finished; then `write()` runs with what is
    left sent live (the requests that depend on the batch's answers, those that failed inside it),
    unless the batch expired: its unanswered requests are submitted again. With no open batch,
    `write()` runs once recording every request the cache cannot answer; none: its result stands
    (a rerun submits nothing), else they are submitted and waited for as above. Raises BatchPending
    while a batch runs, openai.APIError when the provider refuses a batch call.
    """
    open_ = [r for r in llm.cache.batches(day) if r.state == SUBMITTED]
    while True:
        if open_:
            states = await batches.settle(open_, wait)
            if states is None:
                raise _pending(open_)
            if EXPIRED not in states:
                return await write()
        result, requests = await deferred_requests(llm, write, resend_failed=False)
        if not requests:
            return result
        open_ = await batches.submit(day, requests)


def _pending(records: list[BatchRecord]) -> BatchPending:
    ids = ", ".join(r.id for r in records)
    count = sum(len(r.keys) for r in records)
    return BatchPending(
        f"batch {ids} ({count} requests) is still running: the next run for {records[0].day} collects it"
    )
