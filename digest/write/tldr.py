"""One-line TL;DRs of every candidate paper of the day, for the "All papers today" list: written by
the triage model in batches of `papers.triage_batch`, each batch one request (cached like every
answer), joined to papers by the number each batch gave them, never by position.

A number the model invents is ignored, a paper it leaves out has no TL;DR, and a TL;DR that is empty,
only repeats the title, says nothing of its paper or fails the writing gate's text checks is not shown
(`tldr_problem`); a failed batch costs only its TL;DRs. The list says how many are missing and why.
"""

from __future__ import annotations

from collections import Counter

from digest.config import PapersConfig
from digest.llm.bounds import Shape
from digest.llm.prompts import load_prompt
from digest.models import Paper, TLDRs
from digest.write.gate import text_checks
from digest.write.grounding import content_words
from digest.write.section import Desk, in_batches

ABSTRACT_CHARS = 400  # an abstract's opening says what the paper does: keeps a 25-paper batch near 3,000 prompt tokens
WORDS = 25  # of a TL;DR
TOKENS_PER_PAPER = 60  # completion tokens a TL;DR and its number take, at most


def _shape(papers: int) -> Shape:
    return Shape(max_tokens=TOKENS_PER_PAPER * papers + 40, points=papers, words=WORDS)


async def _batch(batch: list[Paper], desk: Desk) -> dict[str, str]:
    """arXiv id -> TL;DR for every paper of `batch`, "" for one the model wrote none for. Raises LLMError."""
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
    written = dict.fromkeys((p.arxiv_id for p in batch), "")
    for entry in done.value.tldrs:
        text = " ".join(entry.tldr.split())
        if 1 <= entry.number <= len(batch) and text:
            arxiv_id = batch[entry.number - 1].arxiv_id
            written[arxiv_id] = written[arxiv_id] or text  # the first the model wrote for it
    return written


def tldr_problem(tldr: str, paper: Paper) -> str | None:
    """Why `tldr` is not shown for `paper`, None when it is: it repeats the title, shares no content word
    with the title and abstract (a tiny model's "The paper is here."), or fails the writing gate's text
    checks (instructions aimed at an AI, doubt of what the writer does not know)."""
    source = f"{paper.title}\n{paper.summary}"
    if tldr.casefold() == paper.title.casefold():
        return "repeating the title"
    if not content_words(tldr) & content_words(source):
        return "saying nothing of the paper"
    return "failing the writing gate" if text_checks(tldr, source) else None


async def write_tldrs(papers: list[Paper], cfg: PapersConfig, desk: Desk) -> tuple[dict[str, str], str | None]:
    """arXiv id -> one-line TL;DR for `papers`, and what is missing (None: every paper has one): the batches
    that failed, then of the papers of the batches that answered, how many have none, for want of a TL;DR
    from the model or because it was not shown (and why)."""
    answered, errors, batches = await in_batches(lambda batch: _batch(batch, desk), papers, cfg.triage_batch)
    by_id = {p.arxiv_id: p for p in papers}
    written: dict[str, str] = {}
    unwritten, dropped = 0, Counter[str]()
    for arxiv_id, text in answered.items():
        problem = tldr_problem(text, by_id[arxiv_id]) if text else None
        if not text:
            unwritten += 1
        elif problem is None:
            written[arxiv_id] = text
        else:
            dropped[problem] += 1
    notes = [f"{len(errors)} of {batches} TL;DR batches failed: {errors[0]}"] if errors else []
    if unwritten or dropped:
        why = [f"the model wrote none for {unwritten}"] if unwritten else []
        if len(dropped) == 1:
            [(problem, n)] = dropped.items()
            why.append(f"{n} not shown, {problem}")
        elif dropped:
            reasons = ", ".join(f"{n} {problem}" for problem, n in dropped.most_common())
            why.append(f"{sum(dropped.values())} not shown ({reasons})")
        notes.append(f"no TL;DR for {unwritten + sum(dropped.values())} of {len(answered)} papers: {', '.join(why)}")
    return written, "; ".join(notes) or None
