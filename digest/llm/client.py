"""The one adapter for every OpenAI-compatible endpoint (OpenAI, OpenRouter, Ollama, vLLM,
llama.cpp's server), through the openai SDK's async client.

Each call asks for a JSON object matching a pydantic model, in the endpoint's structured-output
mode: `json_schema` (OpenAI's response_format), `json_object` (llama.cpp's server: it rejects
json_schema but constrains output to {"type": "json_object", "schema": ...}) or `none`. Whatever
the mode, the answer is cleaned (<think> blocks, code fences), validated, repaired once with the
validation error quoted, and otherwise reported as an LLMError; a half-parsed answer never leaves.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from digest.config import Endpoint
from digest.llm.cache import AnswerCache, cache_key
from digest.llm.policy import MAX_ATTEMPTS, Budget, BudgetSpent, CircuitBreaker, Reservation, classify, cost_usd
from digest.llm.prompts import Prompt
from digest.models import Usage

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
MAX_LIST_ITEMS = 3  # items per list of strings from grammar-constrained servers


class LLMError(Exception):
    """A call that produced no valid answer: transport, HTTP, refusal, truncation or bad JSON."""


class ContextOverflow(LLMError):
    """The request is longer than the model's context window (said by the server, or seen in its
    usage); resending it unchanged cannot succeed, a shorter input might."""


# Silent truncation (servers such as Ollama cut a long prompt to their window and answer anyway):
# a prompt of C characters holds at least C / CHARS_PER_TOKEN_MAX tokens in any common tokenizer;
# a server that reports fewer than TRUNCATION_RATIO of that did not read the whole prompt.
CHARS_PER_TOKEN_MAX = 5
TRUNCATION_RATIO = 0.8
MIN_CHECKED_TOKENS = 400  # shorter prompts: chat-template overhead blurs the count
# The budget's bound on a request's prompt tokens: every token of a byte-level BPE or byte-fallback
# tokenizer (tiktoken, Llama, Mistral, Qwen) covers at least one UTF-8 byte, so bytes bound the
# text's tokens; chat templates add a few special tokens per message and per request (the reply's
# header, a default system line or date header some templates insert), and some providers put the
# response_format's schema into the prompt.
TEMPLATE_TOKENS_PER_MESSAGE = 8
TEMPLATE_TOKENS_PER_REQUEST = 64
_OVERFLOW = re.compile(r"context[ _](length|window)|maximum context|too many tokens|prompt is too long", re.I)


@dataclass
class Completion(Generic[T]):
    """A validated answer and what it cost."""

    value: T
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool = False


def extract_json(text: str) -> str:
    """The JSON object in a model's answer: <think> blocks and code fences removed, then the span
    from the first '{' to the last '}'. Raises LLMError when there is none."""
    text = _FENCE.sub("", _THINK.sub("", text).strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise LLMError("the answer holds no JSON object")
    return text[start : end + 1]


def parse_answer(text: str, schema: type[T]) -> T:
    """Validate a model's answer against `schema`. Raises LLMError naming what is wrong."""
    try:
        # strict=False: raw newlines inside strings are common (grammar-constrained servers allow
        # them) and harmless.
        data = json.loads(extract_json(text), strict=False)
    except json.JSONDecodeError as exc:
        raise LLMError(f"the answer is not valid JSON: {exc}") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise LLMError(f"answer does not match the {schema.__name__} schema: {exc.errors()[:3]}") from exc


def prompt_token_bound(messages: list[dict], response_format: dict | None) -> int:
    """An upper bound, in tokens, on the prompt of a request of `messages` ({"role", "content"}
    dicts) sent with `response_format` (None: none sent), for any common tokenizer."""
    sent = "".join(m["content"] or "" for m in messages) + (json.dumps(response_format) if response_format else "")
    return len(sent.encode()) + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) + TEMPLATE_TOKENS_PER_REQUEST


def bounded_schema(schema: dict) -> dict:
    """`schema` with a maxItems on every list of strings, for grammar-constrained servers
    (llama.cpp): the grammar then closes each list where a small model would go on until the
    answer is cut off. (String maxLength is left out: llama.cpp expands it into one grammar rule
    per character and rejects the grammar beyond a few hundred.)
    """
    bounded = copy.deepcopy(schema)
    for node in _walk(bounded):
        if node.get("type") == "array" and node.get("items", {}).get("type") == "string":
            node.setdefault("maxItems", MAX_LIST_ITEMS)
    return bounded


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


class LLMClient:
    """Structured completions against one endpoint, at most `concurrency` at a time.

    `usage` accumulates calls, cache hits and tokens over the client's life; answers are looked up
    in and stored to `cache` (in memory only when None).
    """

    def __init__(self, endpoint: Endpoint, concurrency: int, timeout: float, temperature: float,
                 cache: AnswerCache | None = None, budget: Budget | None = None, prices: dict | None = None):
        self.endpoint = endpoint
        self.prices = prices or {}  # model -> digest.config.Price
        self.timeout = timeout
        self.breaker = CircuitBreaker()
        self.budget = budget or Budget()
        self.temperature = temperature
        self.usage = Usage()
        self.cache = cache or AnswerCache(None)
        self._sem = asyncio.Semaphore(concurrency)
        self._truncating: set[str] = set()  # models already reported as cutting prompts
        # Our own retry policy below; the SDK's hidden retries would double every wait.
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.base_url, api_key=endpoint.api_key or "not-needed",
            max_retries=0, timeout=timeout,
        )

    def _check_truncation(self, model: str, messages: list[dict], prompt_tokens: int) -> None:
        """Raise ContextOverflow when the reported prompt tokens show the server cut the prompt;
        the first time per model it is also logged as a warning for the operator."""
        floor = sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN_MAX
        if prompt_tokens <= 0 or floor < MIN_CHECKED_TOKENS or prompt_tokens >= TRUNCATION_RATIO * floor:
            return
        message = (f"{model}: the server read only {prompt_tokens} prompt tokens of at least {floor:.0f}: it cut the "
                   "input to its context window (raise the server's context length, e.g. Ollama's num_ctx)")
        if model not in self._truncating:
            self._truncating.add(model)
            log.warning("%s", message)
        raise ContextOverflow(message)

    async def close(self) -> None:
        await self._client.close()
        self.cache.close()

    def _response_format(self, schema: type[BaseModel]) -> dict | None:
        mode = self.endpoint.structured_output
        if mode == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()}}
        if mode == "json_object":
            return {"type": "json_object", "schema": bounded_schema(schema.model_json_schema())}
        return None

    async def complete(self, model: str, prompt: Prompt, schema: type[T], **values) -> Completion[T]:
        """Run `prompt` filled with `values` on `model`; the answer validated as `schema`.

        Raises LLMError after one repair attempt (bad JSON) or the retries of digest.llm.policy.
        """
        messages = prompt.render(**values)
        if self.endpoint.structured_output == "none":
            messages[0]["content"] += (
                "\nAnswer with only a JSON object matching this JSON schema:\n"
                + json.dumps(schema.model_json_schema())
            )
        params = {"temperature": self.temperature, "max_tokens": prompt.max_tokens,
                  "structured_output": self.endpoint.structured_output}
        key = cache_key(prompt.ref, model, params, messages)
        hit = self.cache.get(key)
        if hit is not None:
            self.usage.reuse(hit.prompt_tokens, hit.completion_tokens, hit.cost_usd)
            return Completion(parse_answer(hit.answer, schema), model, hit.prompt_tokens, hit.completion_tokens,
                              cached=True)
        done, text = await self._answer(model, messages, schema, prompt.max_tokens)
        cost = cost_usd(self.prices.get(model), done.prompt_tokens, done.completion_tokens)
        self.cache.put(key, prompt.ref, model, text, done.prompt_tokens, done.completion_tokens, cost)
        return done

    async def _answer(self, model, messages, schema: type[T], max_tokens: int) -> tuple[Completion[T], str]:
        """A validated answer (and its text), repaired once if it does not validate."""
        text, p_tok, c_tok = await self._call(model, messages, schema, max_tokens)
        try:
            return Completion(parse_answer(text, schema), model, p_tok, c_tok), text
        except LLMError as first:
            repair = messages + [
                {"role": "assistant", "content": text},
                {"role": "user", "content": f"That answer was not valid: {first}. "
                 "Answer again with only the corrected JSON object."},
            ]
            text, p2, c2 = await self._call(model, repair, schema, max_tokens)
            return Completion(parse_answer(text, schema), model, p_tok + p2, c_tok + c2), text

    async def _call(self, model, messages, schema, max_tokens) -> tuple[str, int, int]:
        """One answer's text and tokens, retried per digest.llm.policy. Raises LLMError."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = await self._call_once(model, messages, schema, max_tokens)
            except openai.APIError as exc:
                transient = classify(exc, attempt)
                if transient is None:
                    detail = f"HTTP {exc.status_code}: {exc.message}" if isinstance(exc, openai.APIStatusError) else str(exc)
                    if isinstance(exc, openai.BadRequestError) and (exc.code == "context_length_exceeded"
                                                                     or _OVERFLOW.search(exc.message or "")):
                        raise ContextOverflow(f"{model}: the input is longer than the model's context window "
                                              f"({detail})") from None
                    raise LLMError(f"{model}: {detail}") from None
                if transient.wait is None or attempt == MAX_ATTEMPTS:
                    self.breaker.record(ok=False)
                    raise LLMError(f"{model}: {transient} (after {attempt} attempts)") from None
                await asyncio.sleep(transient.wait)
                continue
            self.breaker.record(ok=True)
            return result
        raise AssertionError("unreachable")

    async def _reserve(self, model: str, messages: list[dict], fmt: dict | None, max_tokens: int) -> Reservation:
        """The budget's reservation for one request: its prompt's token bound plus `max_tokens`, and
        their USD at the model's price. Raises LLMError when the budget has no room for it."""
        prompt_tokens = prompt_token_bound(messages, fmt)
        try:
            return await self.budget.reserve(prompt_tokens + max_tokens,
                                             cost_usd(self.prices.get(model), prompt_tokens, max_tokens))
        except BudgetSpent as exc:
            raise LLMError(f"{model}: not called: {exc}") from None

    def _charge(self, model: str, resp, reservation: Reservation) -> tuple[int, int]:
        """Record an answered request's prompt and completion tokens (and their USD) in `usage` and
        settle its reservation on them. A server that reports no usage leaves the reservation
        charged: it is the only bound known."""
        usage = getattr(resp, "usage", None)
        if usage is None:
            self.budget.settle(reservation, reservation.tokens, reservation.usd)
            return 0, 0
        p_tok, c_tok = usage.prompt_tokens, usage.completion_tokens
        cost = cost_usd(self.prices.get(model), p_tok, c_tok)
        self.usage.prompt_tokens += p_tok
        self.usage.completion_tokens += c_tok
        self.usage.cost_usd += cost
        self.budget.settle(reservation, p_tok + c_tok, cost)
        return p_tok, c_tok

    async def _call_once(self, model, messages, schema, max_tokens) -> tuple[str, int, int]:
        kwargs = {}
        fmt = self._response_format(schema)
        if fmt is not None:
            kwargs["response_format"] = fmt
        async with self._sem:
            # Checked and reserved here, as the request is sent: a check before the wait for a slot
            # would let every call queued at the start through.
            if self.breaker.open:
                raise LLMError(f"{model}: not called: the endpoint failed {self.breaker.threshold} times in a row")
            reservation = await self._reserve(model, messages, fmt, max_tokens)
            self.usage.calls += 1
            resp = None
            try:
                resp = await self._client.chat.completions.create(
                    model=model, messages=messages, max_tokens=max_tokens,
                    temperature=self.temperature, **kwargs,
                )
            except Exception:
                self.usage.failed_calls += 1
                raise
            finally:
                if resp is None:  # failed or cancelled: no answer, nothing spent; it still counts as a call
                    self.budget.settle(reservation)
        p_tok, c_tok = self._charge(model, resp, reservation)
        if not hasattr(resp, "choices"):  # e.g. an HTML page from a base URL without /v1
            raise LLMError(f"{model}: the endpoint did not answer in the OpenAI format: {str(resp)[:120]!r}")
        error = (resp.model_extra or {}).get("error")
        if error:  # in-band error object (OpenRouter answers 200 with one)
            raise LLMError(f"{model}: the endpoint reported an error: {str(error)[:200]}")
        self._check_truncation(model, messages, p_tok)
        if not resp.choices:
            raise LLMError(f"{model}: the answer has no choices")
        choice = resp.choices[0]
        if getattr(choice.message, "refusal", None):
            raise LLMError(f"{model}: refused: {choice.message.refusal}")
        if choice.finish_reason == "length":
            raise LLMError(f"{model}: answer cut off at max_tokens={max_tokens}")
        if not (choice.message.content or "").strip():
            raise LLMError(f"{model}: empty answer (finish_reason={choice.finish_reason})")
        return choice.message.content, p_tok, c_tok
