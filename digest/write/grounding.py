"""Grounding: does a paper write-up describe the paper it is filed under?

Every write-up echoes the arXiv id and title it was given; an answer naming another id or title
was written for another paper (or from a mixed-up request). Two more checks against the title and abstract
(the source), for the summary and the review:
- content overlap: the share of the write-up's distinct content words (lower-cased, light
  suffix stemming, stopwords and short words dropped) that also occur in the source must reach
  MIN_OVERLAP; a write-up of another paper shares little beyond generic research vocabulary.
- figures (`fabricated_figures`, digest/write/figures.py): every figure the write-up states must be one the source states.
A write-up that fails is kept but marked "unverified", and the page shows the abstract beside it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from digest.models import Paper, Section
from digest.write.figures import fabricated_figures

# Calibrated on swapped pairs of real arXiv abstracts (tests/test_grounding.py prints the rates).
MIN_OVERLAP = 0.35
# The echoed title may be cut short or reflowed, but most of its words must be the paper's own.
MIN_TITLE_OVERLAP = 0.6
_WORD = re.compile(r"[a-z][a-z\-]{3,}")
_ARXIV_ID = re.compile(r"(?<![\d.])\d{4}\.\d{4,5}(?!\d)|[a-z\-]+(\.[A-Z]{2})?/\d{7}")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")
STOPWORDS = frozenset(
    """
about above after again against also although among an and another any approach approaches are around
based be because been before being below between both but by can could does doing down during each
either enable enables existing few for from further furthermore have having here however into its itself
just many more most much must new novel only other others over paper papers per present presents
propose proposed proposes rather same several should show shows since some such than that their them
then there therefore these they this those through thus under until upon using very well were what
when where whether which while will with within without would author authors work works study studies
result results method methods model models research researchers make makes made including include
includes used uses use demonstrate demonstrates significant significantly potential important key also
first second third like able across often various specific specifically overall additionally
strength strengths weakness weaknesses limitation limitations concern concerns novelty contribution
contributions evaluation evaluate evaluated experiment experiments experimental baseline baselines
clarity clear clearly soundness sound technical technically significance reproducibility recommend
recommendation accept acceptance reject future further evidence claim claims analysis analyses
interesting promising strong weak lack lacks lacking unclear readers reader field community direction
directions application applications improve improvement improvements impact valuable useful
""".split()
)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Distinct stemmed content words of `text`."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def overlap(writeup: str, source: str) -> float:
    """Share (0..1) of the write-up's content words found in the source; 1.0 for an empty write-up."""
    words = content_words(writeup)
    return len(words & content_words(source)) / len(words) if words else 1.0


def problems(writeup: str, paper: Paper) -> list[str]:
    """Why `writeup` may not describe `paper` (empty when it is grounded)."""
    source = f"{paper.title}\n{paper.summary}\n{paper.fulltext or ''}"
    found = []
    share = overlap(writeup, source)
    if share < MIN_OVERLAP:
        found.append(f"only {share:.0%} of its content words occur in the title and abstract")
    figures_problem = fabricated_figures(writeup, source)
    if figures_problem:
        found.append(figures_problem)
    return found


def echoed_id(content: BaseModel) -> str | None:
    """The arXiv id a write-up names (the first id-shaped token of its `arxiv_id`, so "arXiv:",
    "./", a URL or a version around it do not matter); "" when it names none, None when the
    write-up has no `arxiv_id` field."""
    raw = getattr(content, "arxiv_id", None)
    if raw is None:
        return None
    found = _ARXIV_ID.search(raw)
    return found.group(0) if found else ""


def section_text(content: BaseModel) -> str:
    """The prose of a section's content (every field but the echoed id and title), one part a line."""
    parts = []
    for value in content.model_dump(exclude={"arxiv_id", "title"}).values():
        parts.extend(value if isinstance(value, list) else [value])
    return "\n".join(str(p) for p in parts)


def check_section(section: Section, paper: Paper, content_checks: bool = True) -> Section:
    """`section` marked unverified (with the reasons as its error) if it names another arXiv id
    or, with `content_checks`, fails the overlap and number checks."""
    if section.status != "ok" or section.content is None:
        return section
    found = []
    echoed = echoed_id(section.content)
    if echoed is not None and echoed.lower() != paper.arxiv_id.lower():
        named = f"arXiv id '{echoed}'" if echoed else "no valid arXiv id"
        found.append(f"it names {named}, not {paper.arxiv_id}")
    title = getattr(section.content, "title", None)
    if title is not None and overlap(title, paper.title) < MIN_TITLE_OVERLAP:
        found.append("it names another title")
    if content_checks:
        found += problems(section_text(section.content), paper)
    if not found:
        return section
    return section.model_copy(update={"status": "unverified", "error": "; ".join(found)})
