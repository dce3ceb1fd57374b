"""When to retry an LLM call, when to stop calling a provider, and when a run has spent enough.

- Retries: 429 waits what Retry-After says, up to RETRY_AFTER_CAP seconds (longer means give up
  now); 5xx, timeouts and connection errors back off exponentially with jitter; at most
  MAX_ATTEMPTS attempts. Other 4xx (bad key, unknown model, context overflow) are not retried.
- Circuit breaker: after BREAKER_THRESHOLD consecutive calls that failed for the provider's sake
  (after their retries), the remaining calls fail at once instead of hammering it.
- Budget: at most `max_calls` requests, `max_tokens` tokens and `max_usd` USD per run. Each request
  reserves its worst case as it is sent and is settled on its real usage when the answer comes, so
  concurrent requests cannot together overrun a limit; a request the budget has no room for fails
  and its section is marked unavailable.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import openai

if TYPE_CHECKING:
    from digest.llmconfig import Price

MAX_ATTEMPTS = 3
RETRY_AFTER_CAP = 60.0  # seconds
BACKOFF_BASE = 1.0  # seconds, doubled per attempt, times a jitter in [0.5, 1.5)
BREAKER_THRESHOLD = 3


class Transient(Exception):
    """A failure worth retrying after `wait` seconds (None: give up, the wait is too long)."""

    def __init__(self, reason: str, wait: float | None):
        super().__init__(reason)
        self.wait = wait


def retry_after(headers) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form), or None."""
    value = (headers or {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def backoff(attempt: int) -> float:
    """Jittered exponential backoff before attempt `attempt + 1`, in seconds (the jitter keeps
    concurrent callers from retrying in lockstep)."""
    return BACKOFF_BASE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)


def classify(exc: Exception, attempt: int) -> Transient | None:
    """A Transient for errors worth retrying, None for errors that are final."""
    if isinstance(exc, openai.RateLimitError):
        wait = retry_after(exc.response.headers)
        if wait is not None and wait > RETRY_AFTER_CAP:
            return Transient(f"rate limited, Retry-After {wait:.0f} s exceeds the {RETRY_AFTER_CAP:.0f} s cap", None)
        return Transient("rate limited (HTTP 429)", wait if wait is not None else backoff(attempt))
    if isinstance(exc, openai.InternalServerError):
        return Transient(f"server error (HTTP {exc.status_code})", backoff(attempt))
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return Transient(type(exc).__name__, backoff(attempt))
    return None


@dataclass
class CircuitBreaker:
    threshold: int = BREAKER_THRESHOLD
    consecutive_failures: int = 0

    @property
    def open(self) -> bool:
        return self.consecutive_failures >= self.threshold

    def record(self, ok: bool) -> None:
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1


class BudgetSpent(Exception):
    """The run's budget has no room for a request; the message names the limit."""


@dataclass(frozen=True)
class Reservation:
    """What one request may spend at most, held against the budget while it is in flight: `tokens`
    (an upper bound on its prompt plus its max_tokens) and `usd` (the same tokens at its model's price)."""

    tokens: int
    usd: float = 0.0


def cost_usd(
    price: Price | None, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0, batch: bool = False
) -> float:
    """The USD cost of a request's tokens at `price` (USD per million tokens, from llm.prices); 0.0
    for a model without a price.

    `batch`: the request went through a provider's Batch API (or a batch runner), priced at the row's
    `batch_prompt` / `batch_completion` where it gives them (OpenAI's batch prices are half the live
    ones). `cached_tokens` of the prompt tokens were served from the provider's prompt cache, priced at
    `cached_prompt` where the row gives one, never above the prompt rate in effect. A rate the row does
    not give is the live one: an upper bound, so llm.budget.max_usd still binds.
    """
    if price is None:
        return 0.0
    prompt_rate = _rate(price.batch_prompt, price.prompt) if batch else price.prompt
    completion_rate = _rate(price.batch_completion, price.completion) if batch else price.completion
    cached_rate = min(_rate(price.cached_prompt, prompt_rate), prompt_rate)
    cached = min(cached_tokens, prompt_tokens)
    return ((prompt_tokens - cached) * prompt_rate + cached * cached_rate + completion_tokens * completion_rate) / 1e6


def _rate(rate: float | None, default: float) -> float:
    """A price row's optional rate (USD per million tokens), or `default` where it gives none."""
    return default if rate is None else rate


@dataclass
class Budget:
    """At most `max_calls` requests, `max_tokens` tokens (prompt + completion) and `max_usd` USD per
    run; None is no limit.

    A request `reserve`s its worst case as it is sent and is `settle`d on what it really spent, so the
    limits hold for any number of concurrent requests as long as each reservation is an upper bound.
    The counts serve one event loop (no locking).
    """

    max_calls: int | None = None
    max_tokens: int | None = None
    max_usd: float | None = None
    calls: int = 0  # requests sent, failed ones included
    tokens_spent: int = 0  # as the servers reported them (the reservation where they reported none)
    tokens_reserved: int = 0  # held by requests in flight
    usd_spent: float = 0.0
    usd_reserved: float = 0.0
    _settled: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False, compare=False)

    async def reserve(self, tokens: int, usd: float = 0.0) -> Reservation:
        """Count one request and hold `tokens` and `usd` (its worst case) for it until `settle`.

        Waits while requests in flight hold the room it needs (their settlement may give it back);
        raises BudgetSpent when the calls made, or the tokens or USD already spent, leave no room.
        """
        wanted = Reservation(tokens, usd)
        while True:
            reason = self._refusal(wanted)
            if reason is not None:
                raise BudgetSpent(reason)
            if self._fits(wanted):
                break
            await self._settled.wait()
        self.calls += 1
        self.tokens_reserved += tokens
        self.usd_reserved += usd
        return wanted

    def settle(self, reservation: Reservation, tokens: int = 0, usd: float = 0.0) -> None:
        """Replace `reservation` by what its request spent: `tokens` (prompt + completion) and `usd`.
        The defaults give it all back (a request that got no answer; it still counts as a call)."""
        self.tokens_reserved -= reservation.tokens
        self.usd_reserved -= reservation.usd
        self.tokens_spent += tokens
        self.usd_spent += usd
        self._settled.set()  # wakes the requests waiting for room; later ones wait on a new event
        self._settled = asyncio.Event()

    def _refusal(self, wanted: Reservation) -> str | None:
        """Why `wanted` can never fit (what is spent only grows), or None."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            return f"the run's budget of {self.max_calls} calls is spent"
        if self.max_tokens is not None and self.tokens_spent + wanted.tokens > self.max_tokens:
            return (
                f"the run's budget of {self.max_tokens} tokens is spent "
                f"({self.tokens_spent} spent, the request may take {wanted.tokens})"
            )
        if self.max_usd is not None and self.usd_spent + wanted.usd > self.max_usd:
            return (
                f"the run's budget of {self.max_usd} USD is spent "
                f"({self.usd_spent:.6f} spent, the request may cost {wanted.usd:.6f})"
            )
        return None

    def _fits(self, wanted: Reservation) -> bool:
        """Whether `wanted` fits beside what is spent and what requests in flight hold."""
        return (
            self.max_tokens is None or self.tokens_spent + self.tokens_reserved + wanted.tokens <= self.max_tokens
        ) and (self.max_usd is None or self.usd_spent + self.usd_reserved + wanted.usd <= self.max_usd)
