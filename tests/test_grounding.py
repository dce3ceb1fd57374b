"""The grounding checker on swapped pairs built from 98 real arXiv abstracts: a write-up of paper B
filed under paper A must be caught, a write-up of A under A must pass."""

import re

import pytest

from conftest import DATA
from digest.fetch.arxiv import parse_api
from digest.models import PaperSummary, Section
from digest.write.grounding import check_section, problems

GENERIC = ("This work matters for practitioners and researchers alike. The authors argue the approach could "
           "change how systems are built and evaluated in practice.")


@pytest.fixture(scope="module")
def papers():
    found = parse_api((DATA / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml").read_bytes())
    return [p for p in found if len(p.summary) > 400]


def writeup(paper) -> str:
    """A stand-in write-up: three sentences of the abstract in plain words, plus generic commentary."""
    sentences = re.split(r"(?<=[.!?])\s+", paper.summary)
    return "In plain terms, " + " ".join(sentences[1:4]) + " " + GENERIC


def test_detection_and_false_alarm_rates_on_swapped_pairs(papers):
    n = len(papers)
    assert n >= 50
    caught = sum(bool(problems(writeup(papers[(i + 1) % n]), p)) for i, p in enumerate(papers))
    false_alarms = sum(bool(problems(writeup(p), p)) for p in papers)
    print(f"\ngrounding on {n} pairs: detection {caught / n:.1%}, false alarms {false_alarms / n:.1%}")
    assert caught / n >= 0.95
    assert false_alarms / n <= 0.05


def test_numbers_absent_from_the_abstract_are_flagged(papers):
    paper = papers[0]
    assert any("numbers" in p for p in problems(writeup(paper) + " It improves accuracy by 37.5%.", paper))
    assert problems(writeup(paper) + " 1. The first point. 2. The second point.", paper) == []  # list markers


def test_a_failing_section_is_kept_and_marked_unverified(papers):
    a, b = papers[0], papers[1]
    section = Section(status="ok", content=PaperSummary(arxiv_id=a.arxiv_id, title=a.title, summary=writeup(b)))
    checked = check_section(section, a)
    assert checked.status == "unverified" and "content words" in checked.error
    assert checked.content == section.content  # kept, shown with the abstract beside it
    assert check_section(Section(status="ok", content=PaperSummary(arxiv_id=a.arxiv_id, title=a.title, summary=writeup(a))), a).status == "ok"


@pytest.mark.parametrize("echo", ["{id}", "arXiv:{id}v3", "https://arxiv.org/abs/{id}", " {id} ", "./{id}"])
def test_the_echoed_id_may_carry_prefix_and_version(papers, echo):
    paper = papers[0]
    section = Section(status="ok", content=PaperSummary(arxiv_id=echo.format(id=paper.arxiv_id), title=paper.title, summary=writeup(paper)))
    assert check_section(section, paper).status == "ok"


def test_a_write_up_naming_another_paper_is_unverified_even_when_on_topic(papers):  # L13 b
    paper, other = papers[0], papers[1]
    section = Section(status="ok", content=PaperSummary(arxiv_id=other.arxiv_id, title=paper.title, summary=writeup(paper)))
    checked = check_section(section, paper)
    assert checked.status == "unverified" and f"names arXiv id '{other.arxiv_id}', not {paper.arxiv_id}" in checked.error


def test_a_model_that_answers_for_another_paper_is_caught_in_every_section(fake_llm, papers):  # L13 a, b
    import asyncio

    from digest.config import LLMConfig, TaskModels, resolve_endpoint
    from digest.llm.client import LLMClient
    from digest.write.papers import write_paper
    fake_llm.behaviour["confused"] = "wrongpaper"
    endpoint = resolve_endpoint(LLMConfig(), {"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "k"})
    llm = LLMClient(endpoint, 3, timeout=10, temperature=0)

    async def go():
        try:
            return await write_paper(papers[0], llm, TaskModels(summary="confused", review="ok", directions="confused"))
        finally:
            await llm.close()
    written = asyncio.run(go())
    assert written.summary.status == "unverified" and "2501.99999" in written.summary.error
    assert written.directions.status == "unverified" and written.review.status == "ok"


def test_the_echoed_title_may_be_cut_short_but_not_another_papers(papers):  # L13 b
    paper, other = papers[0], papers[1]

    def status(title):
        content = PaperSummary(arxiv_id=paper.arxiv_id, title=title, summary=writeup(paper))
        return check_section(Section(status="ok", content=content), paper)
    assert status(paper.title.upper()).status == "ok"
    assert status(" ".join(paper.title.split()[:4])).status == "ok"  # truncated
    wrong = status(other.title)
    assert wrong.status == "unverified" and "another title" in wrong.error
