"""Reader relevance on recorded real arXiv days: a one-OAI-answer list of 2014-12-24 and 2014-12-25
(tests/data/scrapi_oai_dc_ListRecords_2014-12-24.xml, read by tests/oai_dc.py)."""

from __future__ import annotations

import pytest
from oai_dc import DATA, group, profile_of, read_oai_dc

from digest.select.rank import by_relevance, score_papers
from digest.select.reader import FollowedAuthors, LibraryItem, Profile
from digest.select.stories import embed


@pytest.fixture(scope="module")
def days():
    """(records of 2014-12-24, records of 2014-12-25)."""
    records = read_oai_dc(DATA)
    first = [r for r in records if r.day.isoformat() == "2014-12-24"]
    second = [r for r in records if r.day.isoformat() == "2014-12-25"]
    assert len(first) == 599 and len(second) == 298
    return first, second


def in_group(record, name: str) -> bool:
    return name in {group(s) for s in record.subjects}


def test_a_library_of_one_subfield_ranks_that_subfield_first_on_another_day(days):
    first, second = days
    library = [r.paper for r in first if group(r.subjects[0]) == "Computer Science"]
    scores = score_papers([r.paper for r in second], profile_of(library))
    assert scores is not None and all(0 <= s.relevance <= 1 for s in scores.values())
    subject = {r.paper.arxiv_id: r for r in second}
    top = by_relevance([r.paper for r in second], scores)[:20]
    share = sum(in_group(subject[p.arxiv_id], "Computer Science") for p in top) / 20
    assert share >= 0.85  # 47 of the 298 candidates (16 %) are computer science
    assert scores[top[0].arxiv_id].why.startswith("close to “") and scores[top[0].arxiv_id].why.endswith(
        "in your library"
    )


def test_the_why_names_the_closest_library_title(days):
    first, second = days
    library = [r.paper for r in first if r.subjects[0] == "High Energy Physics - Theory"]
    candidate = next(r.paper for r in second if r.subjects[0] == "High Energy Physics - Theory")
    scores = score_papers([r.paper for r in second], profile_of(library))
    assert scores is not None
    titles = {f"close to “{p.title[:79]}" for p in library}
    assert any(scores[candidate.arxiv_id].why.startswith(t) for t in titles)


def test_followed_authors_rise_and_the_why_says_whom(days):
    first, second = days
    library = [r.paper for r in first if group(r.subjects[0]) == "Mathematics"]
    candidates = [r.paper for r in second]
    plain = score_papers(candidates, profile_of(library))
    assert plain is not None
    last = by_relevance(candidates, plain)[-1]  # the paper least like a mathematics library
    surname, given = last.authors[0].split()[-1], last.authors[0].split()[0]
    followed = f"{surname}, {given[0]}."  # the profile writes the name another way
    profile = Profile(profile_of(library).library, FollowedAuthors([followed]), [], [])
    raised = score_papers(candidates, profile)
    assert raised is not None
    assert raised[last.arxiv_id].relevance >= 0.75 > plain[last.arxiv_id].relevance
    assert by_relevance(candidates, raised).index(last) < 10
    assert raised[last.arxiv_id].why == f"by {followed}, whom you follow"


def test_avoided_phrases_push_papers_down(days):
    first, second = days
    library = [r.paper for r in first if group(r.subjects[0]) == "Astrophysics"]
    candidates = [r.paper for r in second]
    plain = score_papers(candidates, profile_of(library))
    profile = Profile(profile_of(library).library, FollowedAuthors([]), [], ["dark matter"])
    pushed = score_papers(candidates, profile)
    assert plain is not None and pushed is not None
    hit = [p for p in candidates if "dark matter" in f"{p.title} {p.summary}".lower()]
    assert hit and all(pushed[p.arxiv_id].relevance <= 0.25 for p in hit)
    assert all(pushed[p.arxiv_id].why.endswith("pushed down: mentions “dark matter”") for p in hit)
    top_plain = by_relevance(candidates, plain)[:20]
    assert any(p in hit for p in top_plain) and not any(p in hit for p in by_relevance(candidates, pushed)[:20])


def test_interests_alone_rank_and_name_the_interest(days):
    _, second = days
    candidates = [r.paper for r in second]
    profile = Profile([], FollowedAuthors([]), ["quantum computing", "software engineering"], [])
    scores = score_papers(candidates, profile)
    assert scores is not None
    top = by_relevance(candidates, scores)[:4]
    subject = {r.paper.arxiv_id: r for r in second}
    wanted = {"Quantum Physics", "Computer Science - Software Engineering"}
    assert all(wanted & set(subject[p.arxiv_id].subjects) for p in top)
    assert all(scores[p.arxiv_id].relevance >= 0.5 for p in top)
    assert {scores[p.arxiv_id].why for p in top} <= {
        "matches your interest “quantum computing”",
        "matches your interest “software engineering”",
    }


def test_scores_are_deterministic(days):
    first, second = days
    library = [r.paper for r in first[:40]]
    candidates = [r.paper for r in second]
    assert score_papers(candidates, profile_of(library)) == score_papers(candidates, profile_of(library))


def test_an_empty_profile_signals_the_fallback_and_no_candidates_score_nothing(days):
    _, second = days
    empty = Profile([], FollowedAuthors([]), [], ["anything"])
    assert score_papers([r.paper for r in second], empty) is None
    assert score_papers([], profile_of([second[0].paper])) == {}


def test_a_title_only_library_item_still_ranks(days):
    first, second = days
    title_only = [LibraryItem(r.paper.arxiv_id, r.paper.title, "") for r in first if r.subjects[0] == "Quantum Physics"]
    scores = score_papers([r.paper for r in second], Profile(title_only, FollowedAuthors([]), [], []))
    assert scores is not None
    top = by_relevance([r.paper for r in second], scores)[:20]
    subject = {r.paper.arxiv_id: r for r in second}
    assert sum("Quantum Physics" in subject[p.arxiv_id].subjects for p in top) >= 8  # 20 of 298 are quant-ph


def test_wordllama_features_beside_tfidf_rank_the_subfield_first_too(days):
    first, second = days
    library = [r.paper for r in first if group(r.subjects[0]) == "Computer Science"]
    scores = score_papers([r.paper for r in second], profile_of(library), embed)
    assert scores is not None
    subject = {r.paper.arxiv_id: r for r in second}
    top = by_relevance([r.paper for r in second], scores)[:20]
    assert sum(in_group(subject[p.arxiv_id], "Computer Science") for p in top) >= 17
