"""Date-aware prompts: every prompt states the digest's date and that what the model does not know may be
real, and a review that calls something fictitious because its writer does not know it is not shown as
verified (the recorded page's first review called GPT-5.2, Gemini-3-flash and Claude-haiku-4.5 fictitious and
the paper's results fabricated)."""

import datetime as dt
import json
import re
from importlib import resources

import pytest
from conftest import DATA

from digest.llm.prompts import load_prompt
from digest.models import (
    REVIEW_PARTS,
    Digest,
    Paper,
    PaperReview,
    PaperSummary,
    PaperWriteup,
    Provenance,
    ResearchDirections,
    ReviewPoint,
    Section,
)
from digest.render.html import render_paper_page
from digest.write.gate import doubts_the_unknown, gate_section

TASK_PROMPTS = sorted(
    p.name.removesuffix(".md")
    for p in resources.files("digest").joinpath("prompts").iterdir()
    if p.name.endswith(".md") and not p.name.startswith("_") and p.name != "check.md"
)
VALUES = {  # what each prompt's template reads, with the digest's date
    "date": "2026-04-30",
    "points": 2,
    "words": 40,
    "paper_block": "<paper>\narXiv id: 2604.00001\n</paper>",
    "arxiv_id": "2604.00001",
    "topic": {"title": "Models", "description": "New models."},
    "articles": [],
    "drafts": ["A draft [1]."],
    "papers": [],
    "topics": [],
    "interests": "agents",
    "avoid": "",
}
PAGE = (DATA / "paperbot_daily_digest_2026-02-23.txt").read_text(encoding="utf-8")
ABSTRACTS = {
    p["arxiv_id"]: p for p in json.loads((DATA / "paperbot_daily_digest_2026-02-23_abstracts.json").read_text())
}


def test_every_task_prompt_is_found():
    assert set(TASK_PROMPTS) >= {"paper_summary", "paper_review", "research_directions", "overview", "triage"}


@pytest.mark.parametrize("prompt_id", TASK_PROMPTS)
def test_every_prompt_states_the_date_and_that_the_unknown_may_be_real(prompt_id):
    system = load_prompt(prompt_id).render(**VALUES)[0]["content"]
    assert "Today is 2026-04-30." in system
    assert "newer than your own knowledge may be" in system and "never call anything fictitious" in system


def _reference_review() -> tuple[Paper, PaperReview]:
    """The recorded page's first paper and its review's six parts, each numbered point as a review point."""
    paper_id = "2602.15028"
    entry = ABSTRACTS[paper_id]
    paper = Paper(
        arxiv_id=paper_id,
        title=entry["title"],
        summary=entry["summary"],
        abs_url=f"https://arxiv.org/abs/{paper_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
    )
    review = PAGE.split("AI Review", 1)[1].split("Research Directions", 1)[0]
    parts = re.split(r"^\d\. [A-Z][^\n]*$", review, flags=re.M)[1:]
    assert len(parts) == len(REVIEW_PARTS)
    points = {}
    for name, text in zip(REVIEW_PARTS, parts, strict=True):
        items = [p.strip() for p in re.split(r"^\s+\d\. ", text, flags=re.M) if len(p.strip()) > 20]
        points[name] = [
            ReviewPoint(title=i.split(":", 1)[0][:60], text=i, evidence=entry["summary"][:200]) for i in items
        ]
    return paper, PaperReview(arxiv_id=paper_id, title=paper.title, **points)


def test_the_recorded_fictitious_models_review_is_not_shown_as_verified():
    paper, review = _reference_review()
    assert "GPT-5.2" in review.weaknesses[1].text  # the recorded text, as the page showed it (after its lead-in)
    source = f"{paper.title}\n{paper.summary}"
    verdict = doubts_the_unknown("\n".join(p.text for part in review.parts().values() for p in part), source)
    assert verdict is not None and verdict.retry  # the model is sent back once with the reason
    assert "Fictitious" in verdict.reason and "newer than its training" in verdict.reason
    prov = Provenance(models=["m"], prompt="paper_review@5", input_kind="abstract")
    section = gate_section(Section[PaperReview](status="ok", content=review, provenance=prov), source)
    assert section.status == "unverified" and "newer than its training" in (section.error or "")
    ok = Section(status="ok", content=PaperSummary(arxiv_id=paper.arxiv_id, title=paper.title, summary="x" * 30))
    directions = ResearchDirections(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        **dict.fromkeys(list(ResearchDirections.model_fields)[2:], ["y" * 10]),
    )
    writeup = PaperWriteup(paper=paper, summary=ok, review=section, directions=Section(status="ok", content=directions))
    day = Digest(
        date=dt.date(2026, 2, 23),
        generated_at=dt.datetime(2026, 2, 23, tzinfo=dt.UTC),
        version="test",
        papers=[writeup],
        topics=[],
        overview=Section(status="unavailable"),
        sources=[],
    )
    page = render_paper_page(day, writeup)
    shown = re.search(r"Unverified: it calls something (.*?)\.</p>", page, re.S)
    assert shown and "Fictitious" in shown.group(1) and "newer than its training" in shown.group(1)
    assert re.search(r"AI Review\s*<span class=\"badge warn\">unverified</span>", page)


@pytest.mark.parametrize(
    "writeup, source",
    [
        ("The paper shows that LLMs produce fabricated citations in 20% of answers.", "LLMs fabricate citations."),
        ("A benchmark of fictional dialogues tests role play.", "We build fictional dialogues for role play."),
        ("The model GPT-5.2 outperforms earlier models on the benchmark.", "We evaluate GPT-5.2."),
    ],
)
def test_a_source_that_speaks_of_fabrication_may_be_summarized(writeup, source):
    assert doubts_the_unknown(writeup, source) is None
