"""The one adapter for every OpenAI-compatible endpoint (OpenAI, OpenRouter, Ollama, vLLM,
llama.cpp's server), through the openai SDK's async client.

A completion is three pieces: building the request (digest.llm.request: messages, parameters,
cache key), sending it (here: the one provider-specific part, with the retry policy, circuit
breaker, budget and concurrency of digest.llm.policy) and reading the answer (parse, one repair
with the validation error quoted, cache). A batch (digest.llm.batch) sends the same requests another
way: a request the cache cannot answer is looked up among the answers batches gave, read as a live
one is (repaired, completed or sent back live) and priced at the batch rate; with a `deferral`
(digest.llm.deferral) one no batch answered is recorded, not sent, and its caller gets Deferred; one
that failed inside a batch is sent live. The answer cache is the one ledger of what was asked.

`async with LLMClient(...) as llm:` owns the SDK client for one event loop; the answer cache is
the caller's (it outlives the client, e.g. across builds in one process).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import openai
from pydantic import BaseModel

from digest.config import Endpoint
from digest.errors import EXIT_USAGE, DigestError
from digest.llm.answer import Answer, CutOff, Tokens, completion_of, prompt_floor, read_completion, reported_tokens
from digest.llm.bounds import Shape, request_schema
from digest.llm.cache import AnswerCache, BatchResult
from digest.llm.deferral import Deferral
from digest.llm.policy import MAX_ATTEMPTS, Budget, BudgetSpent, CircuitBreaker, Reservation, classify, cost_usd
from digest.llm.prompts import Prompt, load_prompt
from digest.llm.request import Check, LLMError, Request, build_request, parse_answer, response_format
from digest.llm.salvage import merged, missing_fields, rest_schema, salvage
from digest.llmconfig import Price
from digest.models import Ping, Usage

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

_OVERFLOW = re.compile(r"context[ _](length|window)|maximum context|too many tokens|prompt is too long", re.I)


class ContextOverflow(LLMError):
    """The request is longer than the model's context window (said by the server, or seen in its
    usage); resending it unchanged cannot succeed, a shorter input might."""


class PreflightError(DigestError):
    """The endpoint does not answer a tiny request: wrong base URL, key or model (exit 2)."""

    exit_code = EXIT_USAGE


@dataclass
class Completion(Generic[T]):
    """A validated answer and what it cost."""

    value: T
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool = False
    retried: bool = False  # the model was sent back once with a check's reason


class LLMClient:
    """Structured completions against one endpoint, at most `concurrency` at a time, each call
    ending within `timeout` seconds.

    `usage` accumulates calls, cache hits and tokens over the client's life; answers are looked up
    in and stored to `cache` (in memory only when None). With `preflight`, the first request that
    the cache cannot answer is preceded by one tiny request to the summary model, so a wrong
    endpoint fails the run (PreflightError) before any section is written without it.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        concurrency: int = 4,
        timeout: float = 120.0,
        temperature: float = 0.3,
        *,
        cache: AnswerCache | None = None,
        budget: Budget | None = None,
        prices: dict[str, Price] | None = None,
        preflight: bool = False,
    ):
        self.endpoint = endpoint
        self.prices = prices or {}
        self.timeout = timeout
        self.temperature = temperature
        self.breaker = CircuitBreaker()
        self.budget = budget or Budget()
        self.usage = Usage()
        self.cache = cache or AnswerCache(None)
        self.deferral: Deferral | None = None  # set: cache misses are recorded for a batch, not sent
        self._sem = asyncio.Semaphore(concurrency)
        self._truncating: set[str] = set()  # models already reported as cutting prompts
        self._wants_preflight = preflight
        self._preflight: asyncio.Future | None = None  # the one ping, shared by every caller
        # Our own retry policy below; the SDK's hidden retries would double every wait.
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.base_url, api_key=endpoint.api_key or "not-needed", max_retries=0, timeout=timeout
        )

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections (the cache is its owner's to close)."""
        await self._client.close()

    async def preflight(self) -> None:
        """One tiny uncached request to the summary model, once per client; raises PreflightError
        with the endpoint's answer when it fails. Not counted in `usage` or the budget."""
        if self._preflight is None:
            self._preflight = asyncio.ensure_future(self._ping())
        await asyncio.shield(self._preflight)

    async def _ping(self) -> None:
        model = self.endpoint.models.summary
        request = build_request(self.endpoint.structured_output, model, load_prompt("check"), Ping, 0.0)
        try:
            parse_answer((await self._post(request)).text, Ping)
        except (LLMError, openai.APIError) as exc:
            raise PreflightError(f"preflight call to {model} failed, nothing written: {_detail(exc)}") from None

    async def complete(
        self,
        model: str,
        prompt: Prompt,
        schema: type[T],
        *,
        shape: Shape | None = None,
        check: Check | None = None,
        **values,
    ) -> Completion[T]:
        """Run `prompt` filled with `values` on `model`; the answer validated as `schema`, bounded by
        `shape` (digest.llm.bounds).

        An answer cut off at max_tokens keeps its complete fields and asks once for the rest, shorter;
        an answer that is not valid JSON for `schema` is repaired once; a valid answer that `check`
        (a pure function over the answer) says may be mended is sent back once with the reason, and
        the second answer stands (the first, when the second fails). Cached answers are final.
        Raises LLMError when no valid answer comes (after the retries of digest.llm.policy), and
        PreflightError when the endpoint fails its first, tiny request.
        """
        request = build_request(
            self.endpoint.structured_output, model, prompt, schema, self.temperature, shape, **values
        )
        cached = self._from_cache(request, schema)
        if cached is not None:
            return cached
        batched = self.cache.result(request.key)
        deferral = self.deferral
        if deferral is not None and (batched is None or (batched.error and deferral.resend_failed)):
            await self._defer(request, deferral)
        if self._wants_preflight and (batched is None or batched.error):
            await self.preflight()
        value, answer = await self._answer(request, schema, shape, batched)
        verdict = check(value) if check is not None else None
        retried = False
        if verdict is not None and verdict.retry:
            value, answer = await self._retry(request, schema, value, answer, verdict.reason)
            retried = True
        self.cache.put(
            request.key,
            request.prompt_ref,
            model,
            answer.text,
            answer.prompt_tokens,
            answer.completion_tokens,
            answer.cost_usd,
            retried=retried,
        )
        return Completion(value, model, answer.prompt_tokens, answer.completion_tokens, retried=retried)

    async def _defer(self, request: Request, deferral: Deferral) -> None:
        """Record `request` in `deferral` and raise Deferred; its worst case at the batch price is
        spent from the budget (this run sends the batch), so the budget bounds a batch too. Raises
        LLMError when the budget has no room for it."""
        if request.key not in deferral:
            reservation = await self._reserve(request, batch=True)
            self.budget.settle(reservation, reservation.tokens, reservation.usd)
        raise deferral.record(request)

    async def _answer(
        self, request: Request, schema: type[T], shape: Shape | None, batched: BatchResult | None = None
    ) -> tuple[T, Answer]:
        """A valid answer to `request` (the one `batched` holds, else sent): as it came, repaired once,
        or completed after a cut-off."""
        try:
            answer = self._from_batch(request, batched) if batched is not None else None
            if answer is None:
                answer = await self.send(request)
        except CutOff as cut:
            return await self._rest(request, schema, shape, cut.answer)
        try:
            return parse_answer(answer.text, schema), answer
        except LLMError as problem:
            repaired = await self.send(request.repair(answer.text, str(problem)))
            return parse_answer(repaired.text, schema), answer.then(repaired)

    async def _rest(self, request: Request, schema: type[T], shape: Shape | None, cut: Answer) -> tuple[T, Answer]:
        """The answer `cut` off at max_tokens completed: its complete fields kept (digest.llm.salvage),
        the others asked for once, with a smaller shape. Raises LLMError when that fails too."""
        kept = salvage(cut.text, schema)
        fields = missing_fields(kept, schema)
        rest = rest_schema(schema, fields)
        smaller = shape.smaller() if shape is not None else None
        mode = self.endpoint.structured_output
        wanted = request_schema(rest.model_json_schema(), smaller, grammar=mode == "json_object")
        limit = f", at most {smaller.words} words per text" if smaller is not None else ""
        more = await self.send(
            request.follow_up(
                cut.text,
                f"Your answer was cut off at max_tokens={request.max_tokens}. Give only the missing parts "
                f"({', '.join(fields)}) as a JSON object, shorter{limit}.",
                response_format(mode, rest.__name__, wanted),
            )
        )
        value = merged(kept, parse_answer(more.text, rest), schema)
        joined = cut.then(more)
        return value, replace(joined, text=value.model_dump_json())

    async def _retry(
        self, request: Request, schema: type[T], value: T, answer: Answer, reason: str
    ) -> tuple[T, Answer]:
        """`answer` sent back once with a check's `reason`; the new answer, or `value` as it was when
        none comes (its problem is then shown)."""
        try:
            again = await self.send(
                request.follow_up(
                    answer.text,
                    f"That answer has a problem: {reason}. Answer again with the whole corrected JSON object.",
                )
            )
            return parse_answer(again.text, schema), answer.then(again)
        except LLMError:
            return value, answer

    def _from_cache(self, request: Request, schema: type[T]) -> Completion[T] | None:
        """The cached answer to `request` as `schema`, counted in `usage`; None when there is none or it no
        longer validates (stored for an older shape of the schema): then it is asked again."""
        hit = self.cache.get(request.key)
        if hit is None:
            return None
        try:
            value = parse_answer(hit.answer, schema)
        except LLMError:
            return None
        self.usage.reuse(hit.prompt_tokens, hit.completion_tokens, hit.cost_usd)
        return Completion(
            value, request.model, hit.prompt_tokens, hit.completion_tokens, cached=True, retried=hit.retried
        )

    def _from_batch(self, request: Request, batched: BatchResult) -> Answer | None:
        """The answer a batch gave `request`, counted in `usage` at the batch price; None when the
        request failed inside the batch (it is then sent live). Raises CutOff like a live answer."""
        try:
            if batched.body is None:
                raise LLMError(batched.error or "no answer")
            resp = completion_of(batched.body, request.model)
            tokens = reported_tokens(resp) or Tokens(0, 0)
            cost = self._cost(request.model, tokens, batch=True)
            self.usage.batch_answers += 1
            self._spend(tokens, cost)
            return read_completion(resp, request.model, request.max_tokens, tokens, cost)
        except CutOff:
            raise
        except LLMError as exc:
            log.info("%s: failed in batch %s (%s): sent live", request.model, batched.source, exc)
            return None

    def _cost(self, model: str, tokens: Tokens, batch: bool = False) -> float:
        """What `tokens` cost on `model` (USD, from llm.prices; `batch`: at its batch price)."""
        return cost_usd(self.prices.get(model), tokens.prompt, tokens.completion, tokens.cached, batch)

    def _spend(self, tokens: Tokens, cost: float) -> None:
        """Count an answer's `tokens` and `cost` (USD) in `usage`."""
        self.usage.prompt_tokens += tokens.prompt
        self.usage.completion_tokens += tokens.completion
        self.usage.cost_usd += cost
        self.usage.cached_prompt_tokens += tokens.cached

    async def send(self, request: Request) -> Answer:
        """`request` answered, retried per digest.llm.policy. Raises LLMError (ContextOverflow when
        the input is longer than the model's window)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                answer = await self._send_once(request)
            except openai.APIError as exc:
                transient = classify(exc, attempt)
                if transient is None:
                    if isinstance(exc, openai.BadRequestError) and (
                        exc.code == "context_length_exceeded" or _OVERFLOW.search(exc.message or "")
                    ):
                        raise ContextOverflow(
                            f"{request.model}: the input is longer than the model's context window ({_detail(exc)})"
                        ) from None
                    raise LLMError(f"{request.model}: {_detail(exc)}") from None
                if transient.wait is None or attempt == MAX_ATTEMPTS:
                    self.breaker.record(ok=False)
                    raise LLMError(f"{request.model}: {transient} (after {attempt} attempts)") from None
                await asyncio.sleep(transient.wait)
                continue
            self.breaker.record(ok=True)
            return answer
        raise AssertionError("unreachable")

    async def _send_once(self, request: Request) -> Answer:
        """One attempt, counted in `usage` and held against the budget while it is in flight."""
        async with self._sem:
            # Checked and reserved here, as the request is sent: a check before the wait for a slot
            # would let every call queued at the start through.
            if self.breaker.open:
                raise LLMError(
                    f"{request.model}: not called: the endpoint failed {self.breaker.threshold} times in a row"
                )
            reservation = await self._reserve(request)
            self.usage.calls += 1
            charged = False

            def charge(tokens: Tokens | None) -> None:
                nonlocal charged
                self._charge(request, reservation, tokens)
                charged = True

            try:
                return await self._post(request, on_usage=charge)
            except openai.APIError:
                self.usage.failed_calls += 1
                raise
            finally:
                if not charged:  # failed or cancelled: no answer, nothing spent; it still counts as a call
                    self.budget.settle(reservation)

    async def _post(self, request: Request, on_usage=None) -> Answer:
        """The HTTP request and the checks of the answer's shape; `on_usage(tokens)` is told the
        reported Tokens (or None) before any check can fail. Raises LLMError or the SDK's APIError."""
        resp = await self._client.chat.completions.create(**request.body())
        tokens = reported_tokens(resp)
        if on_usage is not None:
            on_usage(tokens)
        self._check_truncation(request, tokens.prompt if tokens is not None else 0)
        cost = self._cost(request.model, tokens) if tokens is not None else 0.0
        return read_completion(resp, request.model, request.max_tokens, tokens, cost)

    async def _reserve(self, request: Request, batch: bool = False) -> Reservation:
        """The budget's reservation for one request: its prompt's token bound plus its max_tokens,
        and their USD at the model's price (`batch`: its batch price). Raises LLMError when the budget
        has no room for it."""
        prompt_tokens = request.prompt_token_bound()
        try:
            return await self.budget.reserve(
                prompt_tokens + request.max_tokens,
                self._cost(request.model, Tokens(prompt_tokens, request.max_tokens), batch),
            )
        except BudgetSpent as exc:
            raise LLMError(f"{request.model}: not called: {exc}") from None

    def _charge(self, request: Request, reservation: Reservation, tokens: Tokens | None) -> None:
        """Record an answered request's tokens (and their USD) in `usage` and settle its reservation
        on them. A server that reports no usage leaves the reservation charged: it is the only
        bound known."""
        if tokens is None:
            self.budget.settle(reservation, reservation.tokens, reservation.usd)
            return
        cost = self._cost(request.model, tokens)
        self._spend(tokens, cost)
        self.budget.settle(reservation, tokens.prompt + tokens.completion, cost)

    def _check_truncation(self, request: Request, prompt_tokens: int) -> None:
        """Raise ContextOverflow when the reported prompt tokens show the server cut the prompt;
        the first time per model it is also logged as a warning for the operator."""
        floor = prompt_floor(request.messages, prompt_tokens)
        if floor is None:
            return
        model = request.model
        message = (
            f"{model}: the server read only {prompt_tokens} prompt tokens of at least {floor:.0f}: it cut the "
            "input to its context window (raise the server's context length, e.g. Ollama's num_ctx)"
        )
        if model not in self._truncating:
            self._truncating.add(model)
            log.warning("%s", message)
        raise ContextOverflow(message)


def _detail(exc: Exception) -> str:
    """An SDK error as an operator reads it: 'HTTP 401: Incorrect API key provided'."""
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return str(exc)
