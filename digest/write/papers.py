"""Per-paper write-ups: plain-language summary, AI review and research directions, each checked
against the text it was written from (grounding, evidence quotes, the writing gate).

One paper per call, so one hostile abstract cannot change another paper's write-up; the paper
block comes first in every request so providers' prefix caching applies across the three tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from digest.llm.bounds import Shape
from digest.llm.request import Verdict
from digest.llmconfig import Depth
from digest.models import QUOTE_CHARS, Paper, PaperReview, PaperSummary, PaperWriteup, ResearchDirections, Section
from digest.write.gate import doubts_the_unknown, gate_section, unverified
from digest.write.grounding import Candidates, check_section, section_text
from digest.write.quotes import evidence_problem, source_sentences, verify_evidence
from digest.write.section import Ask, Desk, write_section

ABSTRACT_CHARS = 3000  # keeps a request inside a small model's context window
# A grammar offers evidence as a choice among the source's sentences only when they are few (an
# abstract): a grammar over a paper's thousand sentences would cost more than it saves.
MAX_CHOICES = 40


def paper_block(paper: Paper, fulltext: bool = True) -> str:
    """The paper as the delimited data block every per-paper prompt starts with; with its full
    text after the abstract when it has one and `fulltext` is set."""
    authors = ", ".join(paper.authors[:8]) + (" et al." if len(paper.authors) > 8 else "")
    body = f"Full text ({paper.fulltext_source}):\n{paper.fulltext}\n" if fulltext and paper.fulltext else ""
    return (
        "<paper>\n"
        f"arXiv id: {paper.arxiv_id}\n"
        f"Title: {paper.title}\n"
        f"Authors: {authors}\n"
        f"Categories: {', '.join(paper.categories)}\n"
        f"Abstract: {paper.summary[:ABSTRACT_CHARS]}\n"
        f"{body}"
        "</paper>"
    )


@dataclass(frozen=True)
class Reading:
    """What one request about a paper gives the model: the paper block, with or without the full text."""

    paper: Paper
    fulltext: bool

    @property
    def source(self) -> str:
        """The text the model read, as the checks compare a write-up with it."""
        body = self.paper.fulltext if self.fulltext and self.paper.fulltext else ""
        return f"{self.paper.title}\n{self.paper.summary}\n{body}"

    @property
    def name(self) -> str:
        return "the paper" if self.fulltext else "the abstract"

    def ask(self, desk: Desk, depth: Depth, quotes: bool = False) -> Ask:
        """The request of a task of `depth` from this reading; `quotes`: its answer quotes the paper."""
        # The id (a checked arXiv id, never free text) is repeated after the data block: small models
        # copy the nearest occurrence. The title stays inside the block: it is untrusted text.
        values = {"paper_block": paper_block(self.paper, self.fulltext), "arxiv_id": self.paper.arxiv_id}
        pins = {"arxiv_id": self.paper.arxiv_id, "title": self.paper.title}
        choices = {}
        if quotes and desk.grammar:
            sentences = source_sentences(self.source, max_chars=min(Shape.of(depth).text_chars, QUOTE_CHARS))
            if len(sentences) <= MAX_CHOICES:
                choices = {"evidence": tuple(sentences)}
        return Ask(
            "fulltext" if self.fulltext else "abstract",
            {**values, **desk.values(depth)},
            Shape.of(depth, pins=pins, choices=choices),
            check=self._review_check if quotes else self._check,
        )

    def _check(self, content: BaseModel) -> Verdict | None:
        """What may be mended by asking once more: doubting what the writer does not know."""
        return doubts_the_unknown(section_text(content), self.source)

    def _review_check(self, review: PaperReview) -> Verdict | None:
        """Asking again for a review whose quotes are mostly not in its source; a quote or two not found
        is shown as such beside its point (a second full review would cost more than it mends)."""
        checked, _ = verify_evidence(review, self.source, self.name)
        problem = evidence_problem(checked, self.name)
        return Verdict(problem, retry=True) if problem else self._check(review)


async def write_paper(paper: Paper, desk: Desk, day: Candidates | Sequence[Paper] = ()) -> PaperWriteup:
    """The three sections of one paper, written concurrently; from the full text when the paper has
    one (a section whose request overflows the model's window is written from the abstract).
    `day` is every candidate paper of the day (Candidates: built once for all the day's papers): a
    write-up naming another of them is caught."""
    full = Reading(paper, fulltext=bool(paper.fulltext))
    short = Reading(paper, fulltext=False) if paper.fulltext else None
    depth, models = desk.endpoint.depth, desk.endpoint.models

    async def one(prompt_id: str, model: str, schema: type[BaseModel], task_depth: Depth, quotes=False) -> Section:
        shorter = short.ask(desk, task_depth, quotes) if short else None
        section = await write_section(desk.llm, prompt_id, model, schema, full.ask(desk, task_depth, quotes), shorter)
        return _checked(section, paper, day, short if _from_abstract(section) and short else full)

    summary, review, directions = await asyncio.gather(
        one("paper_summary", models.summary, PaperSummary, depth.summary),
        one("paper_review", models.review, PaperReview, depth.review, quotes=True),
        one("research_directions", models.directions, ResearchDirections, depth.directions),
    )
    return PaperWriteup(paper=paper, summary=summary, review=review, directions=directions)


def _from_abstract(section: Section) -> bool:
    return section.provenance is not None and section.provenance.input_kind == "abstract"


def _checked(section: Section, paper: Paper, day: Candidates | Sequence[Paper], reading: Reading) -> Section:
    """`section` after every check against what it was written from: the paper it names and its
    grounding, evidence quotes marked (a review), then the writing gate."""
    section = check_section(section, paper, day)
    if isinstance(section.content, PaperReview):
        review, _ = verify_evidence(section.content, reading.source, reading.name)
        problem = evidence_problem(review, reading.name)
        section = unverified(section.model_copy(update={"content": review}), [problem] if problem else [])
    return gate_section(section, reading.source)
