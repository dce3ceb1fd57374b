"""One-line TL;DRs of every candidate paper of the day, for the "All papers today" list: written by
the triage model in batches of `papers.triage_batch`, each batch one request (cached like every
answer), joined to papers by the number each batch gave them, never by position.

A number the model invents is ignored, a paper it leaves out has no TL;DR, a TL;DR that is empty or
only repeats the title is dropped; a failed batch costs only its TL;DRs, and the list says so.
"""

from __future__ import annotations

from digest.config import PapersConfig
from digest.llm.bounds import Shape
from digest.llm.prompts import load_prompt
from digest.models import Paper, TLDRs
from digest.write.section import Desk, in_batches

ABSTRACT_CHARS = 400  # an abstract's opening says what the paper does: keeps a 25-paper batch near 3,000 prompt tokens
WORDS = 25  # of a TL;DR
TOKENS_PER_PAPER = 60  # completion tokens a TL;DR and its number take, at most


def _shape(papers: int) -> Shape:
    return Shape(max_tokens=TOKENS_PER_PAPER * papers + 40, points=papers, words=WORDS)


async def _batch(batch: list[Paper], desk: Desk) -> dict[str, str]:
    """arXiv id -> TL;DR for the papers of `batch` the model wrote one for. Raises LLMError."""
    numbered = [{"number": i, "title": p.title, "abstract": p.summary[:ABSTRACT_CHARS]} for i, p in enumerate(batch, 1)]
    done = await desk.llm.complete(
        desk.endpoint.models.triage,
        load_prompt("tldr"),
        TLDRs,
        shape=_shape(len(batch)),
        papers=numbered,
        words=WORDS,
        date=desk.date.isoformat(),
    )
    written: dict[str, str] = {}
    for entry in done.value.tldrs:
        text = " ".join(entry.tldr.split())
        if 1 <= entry.number <= len(batch) and text and text.casefold() != batch[entry.number - 1].title.casefold():
            written.setdefault(batch[entry.number - 1].arxiv_id, text)
    return written


async def write_tldrs(papers: list[Paper], cfg: PapersConfig, desk: Desk) -> tuple[dict[str, str], str | None]:
    """arXiv id -> one-line TL;DR for `papers`, and what failed (None: every batch answered)."""
    written, errors, batches = await in_batches(lambda batch: _batch(batch, desk), papers, cfg.triage_batch)
    return written, (f"{len(errors)} of {batches} TL;DR batches failed: {errors[0]}" if errors else None)
