"""When to retry an LLM call, when to stop calling a provider, and when a run has spent enough.

- Retries: 429 waits what Retry-After says, up to RETRY_AFTER_CAP seconds (longer means give up
  now); 5xx, timeouts and connection errors back off exponentially with jitter; at most
  MAX_ATTEMPTS attempts. Other 4xx (bad key, unknown model, context overflow) are not retried.
- Circuit breaker: after BREAKER_THRESHOLD consecutive calls that failed for the provider's sake
  (after their retries), the remaining calls fail at once instead of hammering it.
- Budget: at most `max_calls` requests, `max_tokens` tokens and `max_usd` USD per run; past it,
  calls fail at once and their sections are marked unavailable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import openai

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


@dataclass
class Budget:
    max_calls: int | None = None
    max_tokens: int | None = None
    max_usd: float | None = None

    def exhausted(self, calls: int, tokens: int, cost_usd: float = 0.0) -> str | None:
        """Why no further call may be made, or None."""
        if self.max_usd is not None and cost_usd >= self.max_usd:
            return f"the run's budget of {self.max_usd} USD is spent"
        if self.max_calls is not None and calls >= self.max_calls:
            return f"the run's budget of {self.max_calls} calls is spent"
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return f"the run's budget of {self.max_tokens} tokens is spent"
        return None
