"""'Today in AI': the overview written last, from the papers' summaries and the news topics, which
the prompt numbers (the papers first, then the topics, as the page lists them) and every paragraph
must cite."""

from __future__ import annotations

from digest.llm.bounds import Shape
from digest.llm.request import Verdict
from digest.models import Overview, PaperWriteup, Section, Topic
from digest.write.citations import citation_problem
from digest.write.gate import gate_section
from digest.write.section import Ask, Desk, write_section


async def write_overview(papers: list[PaperWriteup], topics: list[Topic], desk: Desk) -> Section:
    """One call over every paper (title and plain-language summary when written) and topic; item n
    of the prompt is papers[n - 1] for n <= len(papers), then topics[n - len(papers) - 1]."""
    paper_lines = [{"number": i, "title": w.paper.title, "summary": _plain_summary(w)} for i, w in enumerate(papers, 1)]
    topic_lines = [
        {"number": i, "title": t.title, "description": t.description} for i, t in enumerate(topics, len(papers) + 1)
    ]
    # The prompt gives the digest's date too: a paragraph may name it whichever item it cites.
    today = desk.date.isoformat()
    items = {p["number"]: f"{p['title']}\n{p['summary']}\n{today}" for p in paper_lines}
    items |= {t["number"]: f"{t['title']}\n{t['description']}\n{today}" for t in topic_lines}

    def cited(content: Overview) -> Verdict | None:
        return citation_problem(content.paragraphs, items)

    depth = desk.endpoint.depth.overview
    ask = Ask("digest", {"papers": paper_lines, "topics": topic_lines, **desk.values(depth)}, Shape.of(depth), cited)
    section = await write_section(desk.llm, "overview", desk.endpoint.models.overview, Overview, ask)
    return gate_section(section, "\n".join(items.values()), (cited,))


def _plain_summary(writeup: PaperWriteup) -> str:
    """The paper's plain-language summary when it was written and passed its checks, else ""."""
    content = writeup.summary.content
    return content.summary if writeup.summary.status == "ok" and content is not None else ""
