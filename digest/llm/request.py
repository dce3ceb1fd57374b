"""A task's request and the reading of its answer, apart from how the request is sent.

`Request` is one chat-completions request as the client builds it: the rendered prompt, the model,
its parameters, the response format of the endpoint's structured-output mode (`json_schema`:
OpenAI's response_format; `json_object`: llama.cpp's server, which rejects json_schema but
constrains output to {"type": "json_object", "schema": ...}; `none`: the schema in the prompt) and
the key its answer is cached under. `body()` is the OpenAI request body, the same whether it goes
out live or in a provider's batch file. `parse_answer` reads an answer: <think> blocks and code
fences removed, every string cleaned (digest.hygiene: LaTeX commands the JSON escapes swallowed put
back, control characters and bidirectional overrides removed), validated against the task's
pydantic model; a half-parsed answer never leaves.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from digest.hygiene import THINK, clean_value
from digest.llm.bounds import Shape, request_schema
from digest.llm.cache import cache_key
from digest.llm.prompts import Prompt
from digest.llmconfig import StructuredOutput

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
# The budget's bound on a request's prompt tokens: every token of a byte-level BPE or byte-fallback
# tokenizer (tiktoken, Llama, Mistral, Qwen) covers at least one UTF-8 byte, so bytes bound the
# text's tokens; chat templates add a few special tokens per message and per request (the reply's
# header, a default system line or date header some templates insert), and some providers put the
# response_format's schema into the prompt.
TEMPLATE_TOKENS_PER_MESSAGE = 8
TEMPLATE_TOKENS_PER_REQUEST = 64


@dataclass(frozen=True)
class Verdict:
    """Why an answer fails a check, and whether sending the model back once with `reason` may mend it
    (`retry`: an uncited paragraph, a quote not found) or not (a write-up of another paper)."""

    reason: str
    retry: bool = False


# A check over a valid answer (a pure function: no I/O, no LLM): None when it passes.
Check = Callable[[Any], "Verdict | None"]


class LLMError(Exception):
    """A call that produced no valid answer: transport, HTTP, refusal, truncation or bad JSON."""


@dataclass(frozen=True)
class Request:
    """One chat-completions request and the cache key of its answer (the key stays the one of the
    first request when a repair adds messages: the repaired answer stands for the original)."""

    model: str
    prompt_ref: str  # prompt id@version
    messages: list[dict] = field(hash=False)
    max_tokens: int
    temperature: float
    response_format: dict | None = field(hash=False)
    key: str

    def body(self) -> dict:
        """The OpenAI chat-completions request body."""
        body = {
            "model": self.model,
            "messages": self.messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.response_format is not None:
            body["response_format"] = self.response_format
        return body

    def repair(self, answer: str, problem: str) -> Request:
        """This request asked once more: the invalid `answer` quoted back with what is wrong with it."""
        return self.follow_up(
            answer, f"That answer was not valid: {problem}. Answer again with only the corrected JSON object."
        )

    def follow_up(
        self, answer: str, message: str, response_format: dict | None = None, max_tokens: int | None = None
    ) -> Request:
        """This conversation taken one turn further: the model's `answer`, then our `message`; with
        another `response_format` and `max_tokens` when given (asking for the rest of a cut-off answer)."""
        return replace(
            self,
            messages=[*self.messages, {"role": "assistant", "content": answer}, {"role": "user", "content": message}],
            response_format=self.response_format if response_format is None else response_format,
            max_tokens=self.max_tokens if max_tokens is None else max_tokens,
        )

    def prompt_token_bound(self) -> int:
        """An upper bound on the request's prompt tokens for any common tokenizer."""
        return prompt_token_bound(self.messages, self.response_format)


def prompt_token_bound(messages: list[dict], response_format: dict | None) -> int:
    """An upper bound, in tokens, on the prompt of a request of `messages` ({"role", "content"}
    dicts) sent with `response_format` (None: none sent), for any common tokenizer."""
    sent = "".join(m["content"] or "" for m in messages) + (json.dumps(response_format) if response_format else "")
    return len(sent.encode()) + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) + TEMPLATE_TOKENS_PER_REQUEST


@functools.cache  # pydantic builds a model's schema anew on every call: a few milliseconds a request
def model_schema(model: type[BaseModel]) -> dict:
    """`model`'s JSON schema (pydantic's model_json_schema), made once per model; shared, so a caller that
    changes it works on a copy (request_schema does)."""
    return model.model_json_schema()


def build_request(
    mode: StructuredOutput,
    model: str,
    prompt: Prompt,
    schema: type[BaseModel],
    temperature: float,
    shape: Shape | None = None,
    **values,
) -> Request:
    """The request that runs `prompt` filled with `values` on `model`, asking for a JSON object of
    `schema` in structured-output `mode`, bounded by `shape` (digest.llm.bounds; its max_tokens
    replaces the prompt's)."""
    messages = prompt.render(**values)
    wanted = request_schema(model_schema(schema), shape, grammar=mode == "json_object")
    if mode == "none":
        messages[0]["content"] += "\nAnswer with only a JSON object matching this JSON schema:\n" + json.dumps(wanted)
    max_tokens = shape.max_tokens if shape is not None else prompt.max_tokens
    if max_tokens is None:
        raise ValueError(f"prompt {prompt.ref} has no max_tokens and was given no shape")
    # The schema is part of the key: the same prompt with other bounds or pins is another question.
    params = {"temperature": temperature, "max_tokens": max_tokens, "structured_output": mode, "schema": wanted}
    return Request(
        model=model,
        prompt_ref=prompt.ref,
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        response_format=response_format(mode, schema.__name__, wanted),
        key=cache_key(prompt.ref, model, params, messages),
    )


def response_format(mode: StructuredOutput, name: str, schema: dict) -> dict | None:
    """The `response_format` that asks for JSON `schema` (named `name`) in `mode` (None for `none`)."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def extract_json(text: str) -> str:
    """The JSON object in a model's answer: <think> blocks and code fences removed, then the span
    from the first '{' to the last '}'. Raises LLMError when there is none."""
    text = _FENCE.sub("", THINK.sub("", text).strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise LLMError("the answer holds no JSON object")
    return text[start : end + 1]


_ESCAPE = re.compile(r"\\(.)", re.S)
_JSON_ESCAPES = frozenset('"\\/bfnrtu')


def mend_escapes(text: str) -> str:
    """`text` (JSON) with each backslash that starts no JSON escape doubled: a model writing TeX into a
    string ("\\ln", "\\mathbb") means the backslash itself, which JSON would otherwise reject."""
    return _ESCAPE.sub(lambda m: m.group() if m.group(1) in _JSON_ESCAPES else "\\" + m.group(), text)


def parse_answer(text: str, schema: type[T]) -> T:
    """Validate a model's answer against `schema`. Raises LLMError naming what is wrong."""
    try:
        # strict=False: raw newlines inside strings are common (grammar-constrained servers allow
        # them) and harmless.
        raw = json.loads(mend_escapes(extract_json(text)), strict=False)
        data = clean_value(raw)  # TeX put back, controls removed
    except json.JSONDecodeError as exc:
        raise LLMError(f"the answer is not valid JSON: {exc}") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise LLMError(f"answer does not match the {schema.__name__} schema: {exc.errors()[:3]}") from exc
