"""'Today in AI': the overview written last, from the papers' summaries and the news topics."""

from __future__ import annotations

from digest.llm.client import LLMClient
from digest.models import Overview, PaperWriteup, Section, Topic
from digest.write.gate import gate_section
from digest.write.section import write_section


async def write_overview(papers: list[PaperWriteup], topics: list[Topic], llm: LLMClient, model: str) -> Section:
    """One call over every paper (title and plain-language summary when written) and topic."""
    paper_lines = [
        {"title": w.paper.title, "summary": w.summary.content.summary if w.summary.status == "ok" else ""}
        for w in papers
    ]
    topic_lines = [{"title": t.title, "description": t.description} for t in topics]
    section = await write_section(llm, "overview", model, Overview, "digest", papers=paper_lines, topics=topic_lines)
    source = "\n".join(
        [
            *(f"{p['title']}\n{p['summary']}" for p in paper_lines),
            *(f"{t['title']}\n{t['description']}" for t in topic_lines),
        ]
    )
    return gate_section(section, source)
