"""Per-paper write-ups: plain-language summary, AI review and research directions, the first two
checked for grounding in the paper's title and abstract.

One paper per call, so one hostile abstract cannot change another paper's write-up; the paper
block comes first in every request so providers' prefix caching applies across the three tasks.
"""

from __future__ import annotations

import asyncio

from digest.config import TaskModels
from digest.llm.client import LLMClient
from digest.models import Paper, PaperReview, PaperSummary, PaperWriteup, ResearchDirections
from digest.write.gate import gate_section
from digest.write.grounding import check_section
from digest.write.section import write_section

ABSTRACT_CHARS = 3000  # keeps a request inside a small model's context window


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


async def write_paper(paper: Paper, llm: LLMClient, models: TaskModels) -> PaperWriteup:
    """The three sections of one paper, written concurrently; from the full text when the paper
    has one (a section whose request overflows the model's window is written from the abstract)."""
    block = paper_block(paper)
    # The id (a checked arXiv id, never free text) is repeated after the data block: small models
    # copy the nearest occurrence. The title stays inside the block: it is untrusted text.
    echo = {"arxiv_id": paper.arxiv_id}
    kind, shorter = (
        ("fulltext", {"paper_block": paper_block(paper, fulltext=False), **echo})
        if paper.fulltext
        else ("abstract", None)
    )
    summary, review, directions = await asyncio.gather(
        *(
            write_section(llm, prompt_id, model, schema, kind, shorter, paper_block=block, **echo)
            for prompt_id, model, schema in (
                ("paper_summary", models.summary, PaperSummary),
                ("paper_review", models.review, PaperReview),
                ("research_directions", models.directions, ResearchDirections),
            )
        )
    )
    # Directions are meant to go beyond the abstract, so only summary and review must stay on it;
    # all three must name the paper they were asked about, and none may repeat instructions.
    source = f"{paper.title}\n{paper.summary}\n{paper.fulltext or ''}"
    return PaperWriteup(
        paper=paper,
        summary=gate_section(check_section(summary, paper), source),
        review=gate_section(check_section(review, paper), source),
        directions=gate_section(check_section(directions, paper, content_checks=False), source),
    )
