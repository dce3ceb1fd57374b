"""'Today in AI': the overview written last, from the papers' summaries and the news topics."""

from __future__ import annotations

from digest.llm.client import LLMClient
from digest.models import Overview, PaperWriteup, Section, Topic
from digest.write.gate import gate_section
from digest.write.section import write_section


async def write_overview(papers: list[PaperWriteup], topics: list[Topic], llm: LLMClient, model: str) -> Section:
    """One call over every paper (title and plain-language summary when written) and topic."""
    paper_lines = [{"title": w.paper.title, "summary": _plain_summary(w)} for w in papers]
    topic_lines = [{"title": t.title, "description": t.description} for t in topics]
    section = await write_section(llm, "overview", model, Overview, "digest", papers=paper_lines, topics=topic_lines)
    source = "\n".join(
        [
            *(f"{p['title']}\n{p['summary']}" for p in paper_lines),
            *(f"{t['title']}\n{t['description']}" for t in topic_lines),
        ]
    )
    return gate_section(section, source)


def _plain_summary(writeup: PaperWriteup) -> str:
    """The paper's plain-language summary when it was written and passed its checks, else ""."""
    content = writeup.summary.content
    return content.summary if writeup.summary.status == "ok" and content is not None else ""
