"""Reading a chat completion: the text of its answer and the tokens the server reported.

The same reading serves every way an answer arrives: a live response of the SDK, a line of a
provider's batch output file, or a line of a runner's output (vLLM's `run_batch`) imported later.
Tokens follow the OpenAI usage object: `prompt_tokens`, `completion_tokens`, and the prompt
tokens the provider served from its prompt cache, `prompt_tokens_details.cached_tokens`
(OpenAI, and vLLM with prefix caching; priced at the cached rate, digest.llm.policy.cost_usd).
"""

from __future__ import annotations

from dataclasses import dataclass

from openai.types.chat import ChatCompletion

from digest.llm.request import LLMError

# Silent truncation (servers such as Ollama cut a long prompt to their window and answer anyway):
# a prompt of C characters holds at least C / CHARS_PER_TOKEN_MAX tokens in any common tokenizer;
# a server that reports fewer than TRUNCATION_RATIO of that did not read the whole prompt.
CHARS_PER_TOKEN_MAX = 5
TRUNCATION_RATIO = 0.8
MIN_CHECKED_TOKENS = 400  # shorter prompts: chat-template overhead blurs the count


@dataclass(frozen=True)
class Tokens:
    """What the server reported an answer took: prompt and completion tokens, and of the prompt
    tokens how many it read from its prompt cache (`cached`)."""

    prompt: int
    completion: int
    cached: int = 0


@dataclass
class Answer:
    """The text of one answered request, its tokens as the server reported them and what they cost
    (USD, at the live or the batch price of the way it was sent)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, served from the provider's prompt cache
    cost_usd: float = 0.0

    def then(self, later: Answer) -> Answer:
        """`later`'s text, with the tokens and cost of both requests."""
        return Answer(
            later.text,
            self.prompt_tokens + later.prompt_tokens,
            self.completion_tokens + later.completion_tokens,
            self.cached_tokens + later.cached_tokens,
            self.cost_usd + later.cost_usd,
        )


class CutOff(LLMError):
    """The answer hit max_tokens; `answer` is what came (tokens included), for salvage."""

    def __init__(self, message: str, answer: Answer):
        super().__init__(message)
        self.answer = answer


def reported_tokens(resp: object) -> Tokens | None:
    """The tokens a response's usage object reports, or None when it reports no counts (some
    servers send a usage object without counts, or with nulls: that is no usage reported)."""
    usage = getattr(resp, "usage", None)
    if usage is None or not isinstance(usage.prompt_tokens, int) or not isinstance(usage.completion_tokens, int):
        return None
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None)
    return Tokens(usage.prompt_tokens, usage.completion_tokens, cached if isinstance(cached, int) else 0)


def prompt_floor(messages: list[dict], prompt_tokens: int) -> float | None:
    """The fewest tokens the prompt of `messages` holds in any common tokenizer, when the server's
    reported `prompt_tokens` are fewer than TRUNCATION_RATIO of it (it cut the prompt); else None
    (no count reported, a prompt too short to judge, or a count that fits)."""
    floor = sum(len(m["content"] or "") for m in messages) / CHARS_PER_TOKEN_MAX
    if prompt_tokens <= 0 or floor < MIN_CHECKED_TOKENS or prompt_tokens >= TRUNCATION_RATIO * floor:
        return None
    return floor


def read_completion(resp: object, model: str, max_tokens: int, tokens: Tokens | None, cost: float = 0.0) -> Answer:
    """The answer in `resp` (a ChatCompletion as the SDK parsed it) to a request to `model` with
    `max_tokens`, carrying `tokens` (zeros when None) and their `cost` (USD). Raises LLMError when the endpoint did not
    answer in the OpenAI format, reported an error in-band, refused, or answered nothing; CutOff
    when the answer hit max_tokens."""
    if not isinstance(resp, ChatCompletion):  # e.g. an HTML page from a base URL without /v1
        raise LLMError(f"{model}: the endpoint did not answer in the OpenAI format: {str(resp)[:120]!r}")
    error = (resp.model_extra or {}).get("error")
    if error:  # in-band error object (OpenRouter answers 200 with one)
        raise LLMError(f"{model}: the endpoint reported an error: {str(error)[:200]}")
    if not resp.choices:
        raise LLMError(f"{model}: the answer has no choices")
    t = tokens or Tokens(0, 0)
    choice = resp.choices[0]
    if getattr(choice.message, "refusal", None):
        raise LLMError(f"{model}: refused: {choice.message.refusal}")
    if choice.finish_reason == "length":
        raise CutOff(
            f"{model}: answer cut off at max_tokens={max_tokens}",
            Answer(choice.message.content or "", t.prompt, t.completion, t.cached, cost),
        )
    if not (choice.message.content or "").strip():
        raise LLMError(f"{model}: empty answer (finish_reason={choice.finish_reason})")
    return Answer(choice.message.content or "", t.prompt, t.completion, t.cached, cost)


def completion_of(body: dict, model: str) -> ChatCompletion:
    """A batch or runner output line's response body as the SDK's ChatCompletion. Raises LLMError
    naming what is wrong when it is not one."""
    try:
        return ChatCompletion.model_validate(body)
    except ValueError as exc:
        raise LLMError(f"{model}: the batch answer is not a chat completion: {str(exc)[:200]}") from None
