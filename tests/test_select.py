"""Which papers get written up: replacements, keyword filters, papers covered by an earlier digest,
and the triage ranking (unit tests on the recorded demo papers, then two builds in a row)."""

import asyncio
import datetime as dt
import json
import shutil

import pytest
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, Page, build_args, demo_config
from safe_html import assert_safe_html

from digest.cli import main
from digest.config import LLMConfig, PapersConfig, resolve_endpoint
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.store import SnapshotStore
from digest.llm.client import LLMClient
from digest.models import Digest, Overview, PaperWriteup, Section
from digest.select.papers import earlier_writeups, select_papers
from digest.write.section import Desk
from digest.write.triage import rank_papers, rank_without_model

DAY = dt.date.fromisoformat(DEMO_DATE)
PAPERS = parse_api(SnapshotStore(DEMO_SNAPSHOT, DAY).load("arxiv-api").body)


def _typed(*types):
    return [p.model_copy(update={"announce_type": t}) for p, t in zip(PAPERS, types, strict=False)]


def test_replacements_are_listed_skipped_or_written_as_configured():  # F16
    papers = _typed("new", "replace", "cross", "replace-cross")
    listed = select_papers(papers, PapersConfig())
    assert [p.announce_type for p in listed.candidates] == ["new", "cross"]
    assert [p.announce_type for p in listed.updated] == ["replace", "replace-cross"]
    assert select_papers(papers, PapersConfig(updated="skip")).updated == []
    written = select_papers(papers, PapersConfig(announce_types=["new", "replace"]))
    assert [p.announce_type for p in written.candidates] == ["new", "replace"]
    assert [p.announce_type for p in written.updated] == ["replace-cross"]


def test_keyword_filters_match_whole_words_in_title_or_abstract():
    agents = [p for p in PAPERS if "agent" in (p.title + p.summary).lower().split(" ")]
    assert agents, "the demo day has papers about agents"
    kept = select_papers(PAPERS, PapersConfig(include=["AGENT"]))
    assert kept.candidates == agents and kept.filtered_out == len(PAPERS) - len(agents)
    dropped = select_papers(PAPERS, PapersConfig(exclude=["agent"]))
    assert not {p.arxiv_id for p in dropped.candidates} & {p.arxiv_id for p in agents}
    assert select_papers(PAPERS, PapersConfig(include=["agen"])).candidates == []  # whole words only


def _digest(day: dt.date, papers) -> Digest:
    pending = Section(status="unavailable", error="x")
    return Digest(
        date=day,
        generated_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        version="t",
        papers=[PaperWriteup(paper=p, summary=pending, review=pending, directions=pending) for p in papers],
        topics=[],
        overview=Section(status="ok", content=Overview(paragraphs=["x" * 30])),
        sources=[],
    )


def test_a_paper_written_up_earlier_is_listed_unless_its_abstract_changed():
    first, second, third = PAPERS[:3]
    earlier = earlier_writeups(
        [_digest(DAY - dt.timedelta(days=2), [first, second]), _digest(DAY + dt.timedelta(days=1), [third])], DAY
    )  # a later day does not count
    changed = second.model_copy(update={"summary": second.summary + " We also release the code.", "version": 2})
    reflowed = first.model_copy(update={"summary": "  " + first.summary.replace(" ", "\n", 3)})
    chosen = select_papers([reflowed, changed, third], PapersConfig(), earlier)
    assert [c.paper.arxiv_id for c in chosen.covered] == [first.arxiv_id]
    assert chosen.covered[0].date == DAY - dt.timedelta(days=2)
    assert [p.arxiv_id for p in chosen.candidates] == [second.arxiv_id, third.arxiv_id]


def _rank(fake_llm, cfg):
    endpoint = resolve_endpoint(LLMConfig(), {"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "k"})
    llm = LLMClient(endpoint, 4, timeout=10, temperature=0)

    async def go():
        try:
            models = endpoint.models.model_copy(update={"triage": "triage-model"})
            return await rank_papers(PAPERS, cfg, Desk(llm, endpoint.model_copy(update={"models": models}), DAY))
        finally:
            await llm.close()

    return asyncio.run(go())


def test_triage_keeps_the_best_scored_papers_joined_by_number(fake_llm):
    ranking = _rank(fake_llm, PapersConfig(max=5, rank="triage", triage_batch=6))
    chosen, how, error = ranking.papers, ranking.method, ranking.error
    agents = [p for p in PAPERS if "agent" in p.title.lower()]  # the fake scores these 9, the rest 3
    assert 0 < len(agents) < 5
    assert chosen[: len(agents)] == agents and len(chosen) == 5 and error is None
    assert (
        chosen[len(agents) :] == [p for p in PAPERS if p not in agents][: 5 - len(agents)]
    )  # ties: announcement order
    assert "scored by triage-model" in how
    assert len(fake_llm.requests) == 4  # 20 papers in batches of 6


def test_failed_triage_batches_keep_announcement_order_and_say_so(fake_llm):
    fake_llm.behaviour["triage-model"] = "error"
    ranking = _rank(fake_llm, PapersConfig(max=5, rank="triage", triage_batch=10))
    chosen, error = ranking.papers, ranking.error
    assert chosen == PAPERS[:5] and error.startswith("2 of 2 triage batches failed")


def test_no_triage_call_when_every_candidate_fits(fake_llm):
    ranking = _rank(fake_llm, PapersConfig(max=50, rank="triage"))
    chosen, how = ranking.papers, ranking.method
    assert chosen == PAPERS and how == "announcement order" and fake_llm.requests == []


def test_the_next_day_lists_papers_already_written_up(fake_llm, tmp_path):  # P10
    """Day 2 is announced with the same 20 papers: the 10 written on day 1 are listed, 10 others written."""
    snap = tmp_path / "snap"
    shutil.copytree(DEMO_SNAPSHOT / DEMO_DATE, snap / "2026-05-01")
    shutil.copytree(DEMO_SNAPSHOT / DEMO_DATE, snap / DEMO_DATE)
    out = tmp_path / "site"
    for day in (DEMO_DATE, "2026-05-01"):
        main(build_args(output=out, snapshot=snap, date=day))
    first = json.loads((out / DEMO_DATE / "digest.json").read_text())["digest"]
    second = json.loads((out / "2026-05-01" / "digest.json").read_text())["digest"]
    written_first = {w["paper"]["arxiv_id"] for w in first["papers"]}
    assert {c["paper"]["arxiv_id"] for c in second["covered"]} == written_first
    assert not written_first & {w["paper"]["arxiv_id"] for w in second["papers"]}
    html = (out / "2026-05-01" / "index.html").read_text()
    assert_safe_html(html)
    page = Page(html)
    assert "covered" in page.ids and "Covered in earlier digests" in page.plain
    links = [h for h in page.hrefs if h.startswith(f"../{DEMO_DATE}/")]
    assert len(links) >= len(written_first)
    covered = [h for h in links if "/papers/" in h]  # the paper's own page: a permalink a rebuild keeps
    assert len(covered) == len(written_first) and all((out / "2026-05-01" / h).resolve().is_file() for h in covered)


def test_hugging_face_daily_papers_give_upvotes_per_arxiv_id():
    from conftest import DATA

    from digest.fetch.upvotes import UpvotesError, parse_daily_papers

    listed = parse_daily_papers((DATA / "newsassistant_hf_daily_papers.json").read_bytes())
    assert {i: e.upvotes for i, e in listed.items()} == {"2607.26654": 3, "2607.28229": 4, "2607.27851": 2}
    for body in (b"<html>Just a moment...</html>", b'{"error": "Invalid date"}'):
        with pytest.raises(UpvotesError):
            parse_daily_papers(body)
    assert parse_daily_papers(b'[{"paper": {"id": "not an id", "upvotes": 9}}, {"x": 1}]') == {}


def test_upvotes_rank_the_candidates_and_a_missing_listing_keeps_announcement_order(fake_llm):
    votes = {PAPERS[7].arxiv_id: 12, PAPERS[3].arxiv_id: 5, "2601.00001": 99}
    cfg = PapersConfig(max=3, rank="upvotes")
    ranking = rank_without_model(PAPERS, cfg, votes)
    assert ranking.papers == [PAPERS[7], PAPERS[3], PAPERS[0]] and "most upvoted" in ranking.method
    assert ranking.error is None
    ranking = rank_without_model(PAPERS, cfg, None)
    assert ranking.papers == PAPERS[:3] and ranking.method == "announcement order"
    assert "could not be read" in ranking.error
    assert rank_without_model(PAPERS, PapersConfig(max=3, rank="triage")) is None  # the model must score them
    assert fake_llm.requests == []


def test_a_build_ranked_by_upvotes_writes_up_the_most_upvoted(fake_llm, tmp_path):
    from digest.fetch.store import RawResponse

    snap = tmp_path / "snap"
    shutil.copytree(DEMO_SNAPSHOT / DEMO_DATE, snap / DEMO_DATE)
    listing = json.dumps(
        [{"paper": {"id": PAPERS[12].arxiv_id, "upvotes": 40}}, {"paper": {"id": PAPERS[5].arxiv_id, "upvotes": 7}}]
    ).encode()
    SnapshotStore(snap, DAY).save(
        RawResponse(
            name="huggingface-daily-papers",
            url="https://huggingface.co/api/x",
            status=200,
            body=listing,
            fetched_at=dt.datetime.now(dt.UTC),
        )
    )
    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text().replace("  rank: reader", "  rank: upvotes", 1), "ranked.yaml"
    )
    assert "rank: upvotes" in config.read_text()
    main(build_args(output=tmp_path / "s", config=config, snapshot=snap))
    digest = json.loads((tmp_path / "s" / DEMO_DATE / "digest.json").read_text())["digest"]
    written = [w["paper"]["arxiv_id"] for w in digest["papers"]]
    assert written[:2] == [PAPERS[12].arxiv_id, PAPERS[5].arxiv_id] and len(written) == 10
    assert "most upvoted" in digest["ranking"]
