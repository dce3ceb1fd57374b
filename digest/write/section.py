"""One LLM-written section: run a prompt, and record the result or why there is none.

`Desk` is what every writing task shares in one run: the client, the endpoint (models and depth
settings) and the digest's date, which every prompt states. `Ask` is one way of asking for a section:
the input kind, the prompt's values, the answer's bounds and the check that may send the model back.
`in_batches` asks about many papers at once, a batch per request (triage scores, TL;DRs).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from digest.config import Endpoint
from digest.llm.bounds import Shape
from digest.llm.client import ContextOverflow, LLMClient, LLMError
from digest.llm.prompts import load_prompt
from digest.llm.request import Check
from digest.llmconfig import Depth
from digest.models import C, InputKind, Paper, Provenance, Section

V = TypeVar("V")


async def in_batches(
    ask: Callable[[list[Paper]], Awaitable[dict[str, V]]], papers: Sequence[Paper], size: int
) -> tuple[dict[str, V], list[str], int]:
    """`ask` of every batch of `size` papers at once, their answers (arXiv id -> value) merged; the
    reasons of the batches that failed (LLMError), and the number of batches. Any other error is raised."""
    batches = [list(papers[i : i + size]) for i in range(0, len(papers), size)]
    results = await asyncio.gather(*(ask(b) for b in batches), return_exceptions=True)
    merged: dict[str, V] = {}
    errors = []
    for result in results:
        if isinstance(result, LLMError):
            errors.append(str(result))
        elif isinstance(result, BaseException):
            raise result
        else:
            merged.update(result)
    return merged, errors, len(batches)


@dataclass(frozen=True)
class Desk:
    """The client, endpoint and date every section of one run is written with."""

    llm: LLMClient
    endpoint: Endpoint
    date: dt.date

    @property
    def grammar(self) -> bool:
        """Whether the server compiles the answer's schema into a grammar (llama.cpp's json_object)."""
        return self.endpoint.structured_output == "json_object"

    def values(self, depth: Depth) -> dict:
        """The prompt values every depth-bound task takes: the date and the points and words."""
        return {"date": self.date.isoformat(), "points": depth.points, "words": depth.words}


@dataclass(frozen=True)
class Ask:
    """One way of asking for a section: from what (`input_kind`), with which prompt `values`, bounded
    by `shape`, sent back once when `check` says so (digest.llm.client.LLMClient.complete)."""

    input_kind: InputKind
    values: dict = field(default_factory=dict)
    shape: Shape | None = None
    check: Check | None = None


async def write_section(
    llm: LLMClient, prompt_id: str, model: str, schema: type[C], ask: Ask, shorter: Ask | None = None
) -> Section[C]:
    """Run prompt `prompt_id` on `model` as `ask` says; a Section with status ok, or unavailable and
    the error.

    When the input overflows the model's context window and `shorter` is given (an abstract-only
    input), the section is written once more that way. Never raises for model failures: they become
    the section's visible state.
    """
    prompt = load_prompt(prompt_id)
    try:
        done = await llm.complete(model, prompt, schema, shape=ask.shape, check=ask.check, **ask.values)
    except LLMError as exc:
        if isinstance(exc, ContextOverflow) and shorter is not None:
            return await write_section(llm, prompt_id, model, schema, shorter)
        return Section[schema](
            status="unavailable",
            error=str(exc),
            provenance=Provenance(models=[model], prompt=prompt.ref, input_kind=ask.input_kind),
        )
    return Section[schema](
        status="ok",
        content=done.value,
        retried=done.retried,
        provenance=Provenance(
            models=[done.model],
            prompt=prompt.ref,
            input_kind=ask.input_kind,
            cached=done.cached,
            prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens,
        ),
    )
