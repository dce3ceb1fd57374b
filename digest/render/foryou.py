"""The "For you" section of a day page: the written-up papers a reader profile scored, closest first,
and each scored paper's place among the day's candidates ("top 3%"), which the page shows instead of
the relevance itself.

A relevance (digest.select.rank) orders a day's papers well but says little as a number: the SVM's
margins lie within a few hundredths of each other, so nearly every paper of a day reads "49%". Its
place in the day says what a reader wants to know: how few of today's papers are closer.
"""

from __future__ import annotations

import math

from digest.models import Digest, PaperWriteup


def for_you(digest: Digest) -> list[PaperWriteup]:
    """The written-up papers a reader profile scored, closest first: the "For you" section."""
    scored = [w for w in digest.papers if w.relevance is not None]
    return sorted(scored, key=lambda w: -w.relevance.relevance if w.relevance else 0.0)


def places(digest: Digest) -> dict[str, int]:
    """arXiv id -> the paper's place among the day's scored candidates, as the percentage (1-100) of
    them at least as relevant as it: 1 for the closest of a day of 100 or more, 100 for the farthest.
    Papers of equal relevance share the place of the first of them. The candidates are the day's
    whole list (`listed`) and its written-up papers (one entry per arXiv id, the list's first): every
    scored paper of the page has a place, even one the list lacks."""
    entries = [(e.paper, e.relevance) for e in digest.listed] + [(w.paper, w.relevance) for w in digest.papers]
    by_id: dict[str, float] = {}
    for paper, scored_as in entries:
        if scored_as is not None:
            by_id.setdefault(paper.arxiv_id, scored_as.relevance)
    scored = sorted(by_id.items(), key=lambda entry: -entry[1])
    found: dict[str, int] = {}
    place, previous = 0, None
    for n, (arxiv_id, relevance) in enumerate(scored, 1):
        if relevance != previous:
            place, previous = math.ceil(100 * n / len(scored)), relevance
        found[arxiv_id] = place
    return found
