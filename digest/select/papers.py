"""Select stage: which fetched papers get written up, which are only listed, and why.

In order: replacements (announce_type replace / replace-cross) go to the "Updated papers" list
unless `papers.announce_types` asks for their write-ups (`papers.updated: skip` drops them);
the include/exclude keyword filters apply to title and abstract; a paper already written up in
an earlier digest with the same abstract is listed as "covered" with that date instead of being
written up again (a changed abstract is written up anew). What is left are the candidates, in
announcement order, for ranking and the `papers.max` cap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable

from pydantic import BaseModel

from digest.config import PapersConfig
from digest.models import Covered, Digest, Paper, Relevance

REPLACEMENTS = ("replace", "replace-cross")


class Selection(BaseModel):
    candidates: list[Paper]  # to be ranked and capped, then written up
    updated: list[Paper]  # replacements, listed without write-ups
    covered: list[Covered]  # written up in an earlier digest, abstract unchanged
    filtered_out: int  # dropped by the keyword filters
    # arXiv id -> closeness to the reader profile, for every candidate (digest.select.rank); None
    # without a profile or with an empty one
    relevance: dict[str, Relevance] | None = None


def abstract_hash(paper: Paper) -> str:
    """A hash of the abstract with whitespace normalized (a re-flowed abstract is unchanged)."""
    return hashlib.sha256(" ".join(paper.summary.split()).encode()).hexdigest()[:16]


# One paper written up by one day's digest: (the day, the arXiv id, abstract_hash of its abstract).
Writeup = tuple[dt.date, str, str]


def writeups(digest: Digest) -> list[Writeup]:
    """Every paper `digest` wrote up, as what "covered earlier" compares; the archive index
    (digest.render.index) keeps these of every published day."""
    return [(digest.date, w.paper.arxiv_id, abstract_hash(w.paper)) for w in digest.papers]


def earlier_writeups(digests: Iterable[Digest], before: dt.date) -> dict[str, tuple[dt.date, str]]:
    """arXiv id -> (latest date before `before` with a write-up, abstract hash there), from digests in memory."""
    return latest_writeups((w for d in digests for w in writeups(d)), before)


def latest_writeups(found: Iterable[Writeup], before: dt.date) -> dict[str, tuple[dt.date, str]]:
    """arXiv id -> (latest date before `before` with a write-up, abstract hash there), from write-ups in
    any order: the rule by which select_papers lists a paper as covered by the latest earlier day."""
    seen: dict[str, tuple[dt.date, str]] = {}
    for date, arxiv_id, hashed in sorted(found):
        if date < before:
            seen[arxiv_id] = (date, hashed)
    return seen


def _keywords(words: list[str]) -> re.Pattern | None:
    if not words:
        return None
    return re.compile("|".join(rf"\b{re.escape(w.strip())}\b" for w in words if w.strip()), re.IGNORECASE)


def select_papers(
    papers: list[Paper], cfg: PapersConfig, earlier: dict[str, tuple[dt.date, str]] | None = None
) -> Selection:
    """Split the day's `papers` (announcement order) by `cfg` and the `earlier` write-ups."""
    include, exclude = _keywords(cfg.include), _keywords(cfg.exclude)
    earlier = earlier or {}
    candidates, updated, covered, filtered_out = [], [], [], 0
    for paper in papers:
        if paper.announce_type not in cfg.announce_types:
            if paper.announce_type in REPLACEMENTS and cfg.updated == "list":
                updated.append(paper)
            continue
        text = f"{paper.title}\n{paper.summary}"
        if (include and not include.search(text)) or (exclude and exclude.search(text)):
            filtered_out += 1
            continue
        seen = earlier.get(paper.arxiv_id)
        if seen and seen[1] == abstract_hash(paper):
            covered.append(Covered(paper=paper, date=seen[0]))
            continue
        candidates.append(paper)
    return Selection(candidates=candidates, updated=updated, covered=covered, filtered_out=filtered_out)
