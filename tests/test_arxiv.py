"""arXiv parsing on real recorded responses, and the choice between announcement feed and API."""

import datetime as dt

import pytest

from conftest import DATA, DEMO_SNAPSHOT
from digest.config import ArxivConfig
from digest.fetch.arxiv import (ArxivError, api_query_url, fetch_papers, merge, parse_api, parse_rss,
                                split_id, submission_window)
from digest.fetch.sources import Pacer, ReplaySource
from digest.fetch.store import SnapshotStore


def test_announcement_feed_gives_papers_and_the_announcement_date():
    announced, papers = parse_rss((DATA / "distill_arxiv_cs_ai.xml").read_bytes())
    assert announced == dt.date(2026, 4, 27)
    assert [p.arxiv_id for p in papers][0] == "2604.21935"
    first = papers[0]
    assert first.title.startswith("Math Takes Two")
    assert first.authors == ["Michael Cooper", "Samuel Cooper"]
    assert first.announce_type == "new"
    assert first.summary.startswith("Although language models")  # "arXiv:... Announce Type" prefix gone
    assert first.categories == ["cs.AI", "cs.LG"] and first.primary_category == "cs.AI"
    assert first.abs_url == "https://arxiv.org/abs/2604.21935"
    assert first.pdf_url == "https://arxiv.org/pdf/2604.21935"


def test_empty_holiday_feed_is_an_empty_day_not_a_failure():
    announced, papers = parse_rss((DATA / "arxiv_physics_empty_holiday_2025-12-31.xml").read_bytes())
    assert papers == []
    assert announced is not None


@pytest.mark.parametrize("body", [b"", b"<html><body>Just a moment...</body></html>", b"{\"error\": 1}"])
def test_a_body_that_is_not_a_feed_is_a_failure(body):
    with pytest.raises(ArxivError):
        parse_rss(body)


def test_api_error_feed_is_never_a_paper():
    with pytest.raises(ArxivError, match="arXiv API error"):
        parse_api((DATA / "arxivpy_id_abc_s0_m100_b79c8dcf6bc3.xml").read_bytes())


def test_api_entries_carry_metadata():
    papers = parse_api((DEMO_SNAPSHOT / "2026-04-30" / "arxiv-api.body").read_bytes())
    assert len(papers) == 20
    tide = papers[0]
    assert tide.arxiv_id == "2604.26951" and tide.version == 1
    assert tide.primary_category == "cs.CL"
    assert tide.authors[:2] == ["Gongbo Zhang", "Wen Wang"]
    assert "github.com/PKU-YuanGroup/TIDE" in tide.comment


def test_legacy_api_format_with_versions_and_journal_ref():
    [paper] = parse_api((DATA / "arxivpy2016_id_list_1111.2011v2.xml").read_bytes())
    assert paper.arxiv_id == "1111.2011" and paper.version == 2
    assert paper.announce_type == "replace"
    assert paper.journal_ref


def test_old_style_ids_keep_their_archive():
    [paper] = parse_api((DATA / "arxivpy_id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").read_bytes())
    assert paper.arxiv_id == "astro-ph/0601001"
    assert split_id("oai:arXiv.org:math/0207249v3") == ("math/0207249", 3)


def test_merge_dedupes_by_id_keeping_announcement_order():
    _, papers = parse_rss((DATA / "distill_arxiv_cs_ai.xml").read_bytes())
    merged = merge(papers + [papers[0].model_copy(update={"version": 2})])
    assert [p.arxiv_id for p in merged] == [p.arxiv_id for p in papers]
    assert merged[0].version == 1


def test_submission_window_follows_the_14_00_eastern_deadline():
    start, end = submission_window(dt.date(2026, 4, 30))  # Thursday's mailing
    assert (start.isoformat(), end.isoformat()) == ("2026-04-28T18:00:00+00:00", "2026-04-29T18:00:00+00:00")
    start, end = submission_window(dt.date(2026, 4, 27))  # Monday's mailing: Thursday to Friday
    assert (start.date(), end.date()) == (dt.date(2026, 4, 23), dt.date(2026, 4, 24))
    assert "submittedDate%3A%5B202604281800+TO+202604291800%5D" in api_query_url(ArxivConfig(), dt.date(2026, 4, 30))


def test_a_feed_of_another_day_means_backfill_from_the_api():
    source = ReplaySource(SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30)))
    papers, statuses, backfilled = fetch_papers(ArxivConfig(), dt.date(2026, 4, 30), source, Pacer(0))
    assert backfilled and len(papers) == 20
    assert [s.source for s in statuses] == ["arxiv-rss-cs.AI", "arxiv-rss-cs.CL", "arxiv-rss-cs.LG", "arxiv-api"]


def test_the_announcement_feed_of_the_day_is_used_as_is(tmp_path):
    day = dt.date(2026, 4, 27)
    store = SnapshotStore(tmp_path, day)
    for cat in ("cs.AI", "cs.CL", "cs.LG"):
        src = SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30)).load(f"arxiv-rss-{cat}")
        store.save(src)
    papers, statuses, backfilled = fetch_papers(ArxivConfig(), day, ReplaySource(store), Pacer(0))
    assert not backfilled
    assert len(papers) == 9 and all(s.state == "ok" for s in statuses)


def test_pacer_spaces_requests_by_the_interval():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(3.0, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(4):
        pacer.wait()
        starts.append(now[0])
        now[0] += 0.5  # the request itself
    assert all(b - a >= 3.0 for a, b in zip(starts, starts[1:]))
