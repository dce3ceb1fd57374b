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
from digest.write.grounding import check_section
from digest.write.section import write_section

ABSTRACT_CHARS = 3000  # keeps a request inside a small model's context window


def paper_block(paper: Paper) -> str:
    """The paper as the delimited data block every per-paper prompt starts with."""
    authors = ", ".join(paper.authors[:8]) + (" et al." if len(paper.authors) > 8 else "")
    return (
        "<paper>\n"
        f"arXiv id: {paper.arxiv_id}\n"
        f"Title: {paper.title}\n"
        f"Authors: {authors}\n"
        f"Categories: {', '.join(paper.categories)}\n"
        f"Abstract: {paper.summary[:ABSTRACT_CHARS]}\n"
        "</paper>"
    )


async def write_paper(paper: Paper, llm: LLMClient, models: TaskModels) -> PaperWriteup:
    """The three sections of one paper, written concurrently."""
    block = paper_block(paper)
    summary, review, directions = await asyncio.gather(
        write_section(llm, "paper_summary", models.summary, PaperSummary, "abstract", paper_block=block),
        write_section(llm, "paper_review", models.review, PaperReview, "abstract", paper_block=block),
        write_section(llm, "research_directions", models.directions, ResearchDirections, "abstract", paper_block=block),
    )
    # Directions are meant to go beyond the abstract, so only summary and review must stay on it.
    return PaperWriteup(paper=paper, summary=check_section(summary, paper), review=check_section(review, paper),
                        directions=directions)
