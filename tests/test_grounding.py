"""The grounding checks: which paper a write-up names (its echoed arXiv id and title, matched against every
candidate of the day) and which paper its text describes. Measured two ways, with the rates printed:
swapped pairs built from 98 real arXiv abstracts (a write-up of paper B filed under paper A must be caught,
one of A under A must pass), and the write-ups of a real published day (summaries, reviews and research
directions written by capable models, tests/data/paperbot_daily_digest_2026-02-23.txt, with the 20 papers'
abstracts), which must pass."""

import datetime as dt
import json
import re

import pytest
from conftest import DATA
from pydantic import BaseModel

from digest.fetch.arxiv_parse import parse_api
from digest.models import (
    REVIEW_PARTS,
    Paper,
    PaperReview,
    PaperSummary,
    ResearchDirections,
    ReviewPoint,
    Section,
    arxiv_links,
)
from digest.render import html
from digest.write.figures import fabricated_figures, figures, unsupported_figures
from digest.write.grounding import check_section, named_paper, problems, section_text

GENERIC = (
    "This work matters for practitioners and researchers alike. The authors argue the approach could "
    "change how systems are built and evaluated in practice."
)
DEMO_API = DATA.parent.parent / "demo" / "snapshot" / "2026-04-30" / "arxiv-api.body"
HYCNN = "2604.26942"  # "Hyper Input Convex Neural Networks for Shape Constrained Learning and Optimal Transport"


@pytest.fixture(scope="module")
def papers():
    found = parse_api((DATA / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml").read_bytes())
    return [p for p in found if len(p.summary) > 400]


@pytest.fixture(scope="module")
def demo_day():
    """The demo day's papers, among them the paper a small model echoed with a paraphrased title."""
    return parse_api(DEMO_API.read_bytes())


def writeup(paper) -> str:
    """A stand-in write-up: three sentences of the abstract in plain words, plus generic commentary."""
    sentences = re.split(r"(?<=[.!?])\s+", paper.summary)
    return "In plain terms, " + " ".join(sentences[1:4]) + " " + GENERIC


def echoing(paper, text: str, arxiv_id: str | None = None, title: str | None = None) -> PaperSummary:
    """A summary of `text` echoing `arxiv_id` and `title` (by default `paper`'s)."""
    arxiv_id = paper.arxiv_id if arxiv_id is None else arxiv_id
    return PaperSummary(arxiv_id=arxiv_id, title=title or paper.title, summary=text)


def summary(paper, text: str, arxiv_id: str | None = None, title: str | None = None) -> Section:
    """A written summary section of `text` echoing `arxiv_id` and `title` (by default `paper`'s)."""
    return Section(status="ok", content=echoing(paper, text, arxiv_id, title))


def test_detection_and_false_alarm_rates_on_swapped_pairs(papers):
    n = len(papers)
    assert n >= 50
    swapped = [(papers[(i + 1) % n], p) for i, p in enumerate(papers)]  # (written about, filed under)
    caught = sum(bool(problems(writeup(b), a, papers)) for b, a in swapped)
    false_alarms = sum(bool(problems(writeup(p), p, papers)) for p in papers)
    # The write-up's own paper not among the day's candidates (a mix-up with another day's paper): only the
    # similarity floor can tell.
    elsewhere = sum(bool(problems(writeup(b), a, [q for q in papers if q is not b])) for b, a in swapped)
    print(
        f"\ngrounding on {n} pairs: detection {caught / n:.1%}, false alarms {false_alarms / n:.1%}; "
        f"detection when the write-up's paper is not among the day's {elsewhere / n:.1%}"
    )
    assert caught / n == 1.0 and false_alarms == 0
    assert elsewhere / n >= 0.95


# --- The write-ups of a real published day (the page's text; each paper's abstract recorded beside it) ---

PAGE = DATA / "paperbot_daily_digest_2026-02-23.txt"
PAGE_ABSTRACTS = DATA / "paperbot_daily_digest_2026-02-23_abstracts.json"
REVIEW_HEADINGS = tuple(html.REVIEW_HEADINGS.values())
DIRECTION_HEADINGS = ("Direct Extensions", "Novel Research Directions", "Unexplored Problems", "Potential Applications")


def _parts(text: str, headings: tuple[str, ...]) -> list[str]:
    """The text under each of `headings`, lines that start with one (numbered "1. " or not)."""
    names = "|".join(map(re.escape, headings))
    marks = list(re.finditer(rf"^(?:\d\. )?({names})[^\n.:]{{0,45}}$", text, re.M))
    assert tuple(m.group(1) for m in marks) == headings
    return [text[m.end() : n.start() if n else None].strip() for m, n in zip(marks, [*marks[1:], None], strict=True)]


def _ideas(text: str) -> list[str]:
    """A part of the page's research directions as ideas: its bullets (the part whole when it has none)."""
    return [i.strip() for i in re.split(r"\n\s*•\s*", "\n" + text) if len(i.strip()) >= 10] or [text]


def _sections(paper: Paper, block: str) -> dict:
    """The page's write-ups of `paper` (`block`: its text after the title) as the models hold them; a review
    part as one point of the part's text, with no evidence (these were written before evidence was asked)."""
    head, directions = block.split("\nResearch Directions\n", 1)
    text, _, review = head.partition("\nAI Review\n")
    echo = {"arxiv_id": paper.arxiv_id, "title": paper.title}
    fields = [f for f in ResearchDirections.model_fields if f not in echo]
    ideas = {f: _ideas(part) for f, part in zip(fields, _parts(directions, DIRECTION_HEADINGS), strict=True)}
    found: dict[str, BaseModel] = {
        "summary": PaperSummary.model_validate({**echo, "summary": text.strip()}),
        "directions": ResearchDirections.model_validate({**echo, **ideas}),
    }
    if review:  # one paper's review is missing from the page
        points = zip(REVIEW_PARTS, REVIEW_HEADINGS, _parts(review, REVIEW_HEADINGS), strict=True)
        parts = {f: [ReviewPoint(title=h, text=t, evidence="")] for f, h, t in points}
        found["review"] = PaperReview.model_validate({**echo, **parts})
    return found


@pytest.fixture(scope="module")
def real_day() -> list[tuple[Paper, dict]]:
    """(paper, its write-ups by section name) for the page's 20 papers, in page order."""
    page = PAGE.read_text(encoding="utf-8")
    found = []
    for a in json.loads(PAGE_ABSTRACTS.read_text(encoding="utf-8")):
        paper = Paper.model_validate({**a, **arxiv_links(a["arxiv_id"])})
        start = page.index(f"\n{paper.title}\n", page.index("20 papers summarized from arXiv"))
        block = page[start + len(paper.title) + 2 :].split("↑ Back to top", 1)[0]
        found.append((paper, _sections(paper, block)))
    assert len(found) == 20
    return found


def _flagged(content, paper: Paper, day: list[Paper]) -> list[str]:
    """Why a real write-up would be marked unverified. A review's figures are not judged here: these reviews
    read the full texts (they cite their tables), which tests/data does not hold; a build checks them
    against the full text the review was written from."""
    if not isinstance(content, PaperReview):
        checked = check_section(Section(status="ok", content=content), paper, day)
        return [checked.error] if checked.error else []
    echo = check_section(Section(status="ok", content=content), paper, day, content_checks=False)
    return ([echo.error] if echo.error else []) + problems(section_text(content), paper, day, figures=False)


def test_a_real_days_write_ups_pass(real_day):
    # "Do not buy detection with false alarms: on correct write-ups the grounding checks flag at most 5 %."
    day = [paper for paper, _ in real_day]
    flagged: dict[str, list[str]] = {"summary": [], "review": [], "directions": []}
    written = dict.fromkeys(flagged, 0)
    for paper, sections in real_day:
        for name, content in sections.items():
            written[name] += 1
            flagged[name] += [f"{paper.arxiv_id} {name}: {r}" for r in _flagged(content, paper, day)]
    review_figures = sum(
        bool(fabricated_figures(section_text(s["review"]), f"{p.title}\n{p.summary}"))
        for p, s in real_day
        if "review" in s
    )
    total = sum(map(len, flagged.values())) / sum(written.values())
    print(
        "\nreal day, flagged: "
        + ", ".join(f"{name} {len(flagged[name])}/{written[name]}" for name in flagged)
        + f"; in total {total:.1%} {sum(flagged.values(), [])}; reviews stating figures their abstract lacks "
        f"(from the full text) {review_figures}/{written['review']}"
    )
    assert written == {"summary": 20, "review": 19, "directions": 20}
    assert total <= 0.05


def test_a_real_days_write_ups_filed_under_another_paper_are_caught(real_day):
    # Each write-up filed under each other paper of the day, as if it echoed that paper's id and title: the
    # text check alone (figures aside) must tell.
    day = [paper for paper, _ in real_day]
    caught = dict.fromkeys(("summary", "review", "directions"), 0)
    tried = dict.fromkeys(caught, 0)
    for paper, sections in real_day:
        for other in day:
            if other is paper:
                continue
            for name, content in sections.items():
                tried[name] += 1
                caught[name] += bool(problems(section_text(content), other, day, figures=False))
    print("\nreal day misfiled, caught: " + ", ".join(f"{n} {caught[n] / tried[n]:.1%} of {tried[n]}" for n in caught))
    assert all(caught[n] == tried[n] for n in caught)


def test_research_directions_are_checked_against_their_paper(real_day):
    # Directions go beyond the abstract: a real day's pass (they fit their own abstract best), and their
    # figures are proposals, not reported results; directions of another paper are caught.
    (paper, sections), (other, _) = real_day[0], real_day[1]
    day = [p for p, _ in real_day]
    directions = sections["directions"].model_copy(
        update={"direct_extensions": ["Scale the benchmark to 70B-parameter models and 1M-token contexts."]}
    )
    assert check_section(Section(status="ok", content=directions), paper, day).status == "ok"
    misfiled = directions.model_copy(update={"arxiv_id": other.arxiv_id, "title": other.title})
    checked = check_section(Section(status="ok", content=misfiled), other, day)
    assert checked.status == "unverified"
    assert checked.error == f"its text fits another paper of today better: {paper.title} ({paper.arxiv_id})"


def test_a_reviews_evidence_quotes_do_not_count_as_its_words(papers):
    # Quotes are copied from the paper, so they match it whatever the points say (digest.write.quotes checks
    # them); a review of generic points resting on quotes must not pass.
    paper = papers[0]
    quote = re.split(r"(?<=[.!?])\s+", paper.summary)[1]
    point = ReviewPoint(title="Overall", text=GENERIC, evidence=quote[:300])
    review = PaperReview(arxiv_id=paper.arxiv_id, title=paper.title, **{f: [point] for f in REVIEW_PARTS})
    assert section_text(review) == "\n".join(["Overall", GENERIC] * len(REVIEW_PARTS))
    checked = check_section(Section(status="ok", content=review), paper, papers)
    assert checked.status == "unverified" and "shares little with the title and abstract" in (checked.error or "")


def test_a_failing_section_is_kept_and_marked_unverified(papers):
    a, b = papers[0], papers[1]
    section = summary(a, writeup(b))
    checked = check_section(section, a, papers)
    assert checked.status == "unverified"
    assert checked.error == f"its text fits another paper of today better: {b.title} ({b.arxiv_id})"
    assert checked.content == section.content  # kept, shown with the abstract beside it
    assert check_section(summary(a, writeup(a)), a, papers).status == "ok"
    # The old call shape (no day): the paper alone, so only the similarity floor judges the text.
    assert check_section(summary(a, writeup(a)), a).status == "ok"
    assert check_section(summary(a, GENERIC), a).status == "unverified"


# --- The echo: which paper of the day the answer names ---


@pytest.mark.parametrize("echo", ["{id}", "arXiv:{id}v3", "https://arxiv.org/abs/{id}", " {id} ", "./{id}", "{ID}"])
def test_the_echoed_id_may_carry_prefix_and_version(papers, echo):
    paper = papers[0]
    raw = echo.format(id=paper.arxiv_id, ID=paper.arxiv_id.upper())
    checked = check_section(summary(paper, writeup(paper), arxiv_id=raw), paper, papers)
    assert checked.status == "ok" and checked.notes == []


def test_a_paraphrased_title_with_a_garbled_id_names_its_paper(demo_day):
    # A small model's echo on the demo day: the text is about the right paper, so this is a note, not a warning.
    paper = next(p for p in demo_day if p.arxiv_id == HYCNN)
    title = "Hyper Input Convex Neural Networks (HyCNNs) and Optimal Transport Maps for Synthetic RNA Sequencing Data"
    content = echoing(paper, writeup(paper), arxiv_id="2604.2694", title=title)
    assert named_paper(content, paper, demo_day) is paper
    checked = check_section(Section(status="ok", content=content), paper, demo_day)
    assert checked.status == "ok" and checked.error is None
    assert checked.notes == [
        "echoed arXiv id '2604.2694' is garbled; the title names this paper",
        f"echoed title differs from this paper's (arXiv id '2604.2694', title '{title[:79]}…')",
    ]


@pytest.mark.parametrize("garbled", ["2604.2694", ".2604.26942", "", "arXiv id"])
def test_the_exact_title_with_a_garbled_id_is_a_note(demo_day, garbled):
    paper = next(p for p in demo_day if p.arxiv_id == HYCNN)
    checked = check_section(summary(paper, writeup(paper), arxiv_id=garbled), paper, demo_day)
    assert checked.status == "ok"
    assert checked.notes == [f"echoed arXiv id '{garbled}' is garbled; the title names this paper"]


def test_the_id_of_another_paper_of_the_day_is_unverified_even_when_on_topic(papers):  # L13 b
    paper, other = papers[0], papers[1]
    checked = check_section(summary(paper, writeup(paper), arxiv_id=f"arXiv:{other.arxiv_id}v2"), paper, papers)
    assert checked.status == "unverified"
    assert checked.error == f"it names another paper of today: {other.title} ({other.arxiv_id})"


def test_the_title_of_another_paper_of_the_day_is_unverified(papers):
    paper, other = papers[0], papers[1]
    section = summary(paper, writeup(paper), arxiv_id=paper.arxiv_id[:-1], title=other.title.upper())
    checked = check_section(section, paper, papers)
    assert checked.status == "unverified"
    assert checked.error == f"it names another paper of today: {other.title} ({other.arxiv_id})"


def test_an_exact_id_outweighs_the_title_and_the_text_decides(papers):
    # Ids are copied, titles get paraphrased: this paper's id with another's title names this paper, and the
    # text (this paper's) passes, with the odd title noted.
    paper, other = papers[0], papers[1]
    checked = check_section(summary(paper, writeup(paper), title=other.title), paper, papers)
    assert checked.status == "ok" and checked.notes[0].startswith("echoed title differs from this paper's")


def test_the_echoed_title_may_be_cut_short_or_recased(papers):
    paper = papers[0]
    for title in (paper.title.upper(), " ".join(paper.title.split()[:6])):
        content = echoing(paper, writeup(paper), arxiv_id=paper.arxiv_id[:-1], title=title)
        assert named_paper(content, paper, papers) is paper
        checked = check_section(Section(status="ok", content=content), paper, papers)
        assert checked.status == "ok" and len(checked.notes) == 1  # the garbled id only


def test_an_echo_naming_no_paper_is_a_note_when_the_text_is_right(papers):
    paper = papers[0]
    content = echoing(paper, writeup(paper), arxiv_id="2501.99999", title="Quantum chromodynamics of sheep herding")
    assert named_paper(content, paper, papers) is None
    checked = check_section(Section(status="ok", content=content), paper, papers)
    assert checked.status == "ok" and checked.error is None
    assert checked.notes == [
        "it names no paper of today (arXiv id '2501.99999', title 'Quantum chromodynamics of sheep herding')"
    ]


def test_an_echo_naming_no_paper_with_failing_text_is_unverified_with_both_reasons(papers):
    paper = papers[0]
    section = summary(paper, GENERIC, arxiv_id="2501.99999", title="Quantum chromodynamics of sheep herding")
    checked = check_section(section, paper, papers)
    assert checked.status == "unverified" and checked.notes == []
    reasons = (checked.error or "").split("; ")
    assert reasons[0].startswith("its text shares little with the title and abstract (similarity 0.")
    assert reasons[1] == "it names no paper of today (arXiv id 2501.99999)"  # on the page: no echoed free text


def test_a_write_up_with_a_foreign_echo_from_the_model_is_kept_with_a_note(fake_llm, papers):
    import asyncio

    from digest.config import LLMConfig, TaskModels, resolve_endpoint
    from digest.llm.client import LLMClient
    from digest.write.papers import write_paper
    from digest.write.section import Desk

    # The fake model echoes another id and title ("wrongpaper") over a text about the right paper.
    fake_llm.behaviour["confused"] = "wrongpaper"
    endpoint = resolve_endpoint(LLMConfig(), {"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "k"})
    models = TaskModels(summary="confused", review="ok", directions="confused")

    async def go():
        async with LLMClient(endpoint, 3, timeout=10, temperature=0) as llm:
            desk = Desk(llm, endpoint.model_copy(update={"models": models}), dt.date(2026, 4, 30))
            return await write_paper(papers[0], desk, papers)

    written = asyncio.run(go())
    for section in (written.summary, written.directions):
        assert section.status == "ok", section.error
        assert section.notes == [
            "it names no paper of today (arXiv id '2501.99999', title 'Quantum chromodynamics of sheep herding')"
        ]


# Figures: every figure of a faithful restatement of a real abstract, changed as a fabricating model would.
ABSTRACTS = [
    DATA / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml",
    DATA.parent.parent / "demo" / "snapshot" / "2026-04-30" / "arxiv-api.body",
]


def _restatements() -> list[tuple[str, str]]:
    """(write-up, title and abstract): the abstract's plain-language sentences that state figures, framed as a
    summary would; sentences with TeX are left out (a formula's constants are notation, not reported figures,
    and a plain-language write-up does not copy them)."""
    pairs = []
    for path in ABSTRACTS:
        for paper in parse_api(path.read_bytes()):
            sentences = re.split(r"(?<=[.!?])\s+", paper.summary)
            stated = [s for s in sentences if figures(s) and "$" not in s and "\\" not in s]
            if stated:
                pairs.append(("In plain terms, " + " ".join(stated) + " " + GENERIC, f"{paper.title}\n{paper.summary}"))
    return pairs


def _changes(text: str, figure) -> list[str]:
    """`text` with `figure` changed as a fabricating model would: last digit +1, -1, +2, or a decimal's last
    digit set to 0 (4.7 -> 4.0); its unit and everything else kept."""
    written = text[figure.start : figure.end]
    i = max(k for k, c in enumerate(written) if c.isdigit())
    digits = {int(written[i]) + step for step in (1, -1, 2)} | ({0} if "." in written else set())
    changed = {written[:i] + str(d) + written[i + 1 :] for d in digits if 0 <= d <= 9}
    return [text[: figure.start] + c + text[figure.end :] for c in sorted(changed - {written})]


def _detection(pairs) -> tuple[int, int]:
    """(caught, tried): each figure of each write-up that its source states, changed every way `_changes` does;
    caught when the changed write-up has more unsupported figures than the original."""
    caught = tried = 0
    for writeup, source in pairs:
        before = unsupported_figures(writeup, source)
        unsupported = {f.start for f in before}
        for figure in figures(writeup):
            if figure.start in unsupported:
                continue
            for changed in _changes(writeup, figure):
                tried += 1
                caught += len(unsupported_figures(changed, source)) > len(before)
    return caught, tried


def test_changed_figures_of_real_abstracts_are_caught_and_faithful_ones_pass():
    pairs = _restatements()
    caught, tried = _detection(pairs)
    alarms = [fabricated_figures(*p) for p in pairs if fabricated_figures(*p)]
    print(
        f"\nfigures: {tried} changes in {len(pairs)} restated abstracts, caught {caught / tried:.1%}; "
        f"false alarms on the faithful ones {len(alarms) / len(pairs):.1%}: {alarms}"
    )
    assert tried > 300 and len(pairs) >= 40
    assert caught / tried >= 0.95
    assert len(alarms) / len(pairs) <= 0.02


SOURCE = (
    "We evaluate on 3 benchmarks and 4 languages with 5-shot prompts. Our method improves accuracy by 1% "
    "on average and by 34.4% on the hardest split, reaches 4.7 BLEU, gives a 6-fold speedup and uses 4x less "
    "memory (0.7 GB); the dataset has 1,534 questions and about 29,000 images from 10-20% of the 2023 exams."
)


@pytest.mark.parametrize(
    "fabricated",
    [
        "improves accuracy by 3%",
        "reaches 4.0 BLEU",
        "a 7-fold speedup",
        "5x less memory",
        "(0.0 GB)",
        "1,535 questions",
        "10-21%",
        "4-shot prompts",
        "on 4 benchmarks",
        "30k images",
    ],
)
def test_a_changed_figure_is_caught_even_where_its_new_value_occurs_elsewhere(fabricated):
    # The new 3, 4, 5 and 0 occur in the source as other figures; the old numbers check (no integers up to 10,
    # no trailing .0) missed seven of these ten.
    assert fabricated_figures(f"The paper {fabricated}.", SOURCE) is not None


@pytest.mark.parametrize(
    "stated",
    [
        "improves accuracy by 1%",
        "by 34% on the hardest split",
        "about 1.5k questions",
        "~29k images",
        "a 6x speedup",
        "3 benchmarks",
        "4.7 BLEU",
        "47% of the exams",
        "10% to 20%",
        "three benchmarks",
    ],
)
def test_a_figure_the_source_states_in_another_form_passes(stated):
    # Rounded (34% for 34.4%, 1.5k for 1,534) is stated too; the old numbers check flagged those two.
    source = SOURCE.replace("2023 exams", "2023 exams, 47.0% of them")
    assert fabricated_figures(f"The paper reports {stated}.", source) is None


@pytest.mark.parametrize(
    "not_a_figure",
    [
        "1. Summary of Content",
        "  2) Weaknesses:",
        "strengths (1) novelty",
        "as in Table 7 and Section 3.2",
        "GPT-4 and Llama-3-8B",
        "Qwen2.5",
        "a 3D scene",
        "in 2024",
        "with Gemma 2 as judge",
        "recall@10",
        "O(1) time",
        "seven datasets",
        "see [12]",
    ],
)
def test_numbering_names_years_and_words_are_not_figures(not_a_figure):
    assert figures(not_a_figure) == []
