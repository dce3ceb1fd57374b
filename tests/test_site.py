"""The site: digest.json round trip, the archive, the Atom feed, previous/next links."""

import datetime as dt
import json
from pathlib import Path

import feedparser

from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, Page
from digest.cli import main
from digest.config import SiteConfig
from digest.models import Digest
from safe_html import assert_safe_html
from digest.render.html import paper_anchor, paper_page
from digest.render.site import SCHEMA_VERSION, load_digests, publish


def _two_days(tmp_path):
    site = tmp_path / "site"
    assert main(["build", "--date", DEMO_DATE, "--config", str(DEMO_CONFIG), "--snapshot", str(DEMO_SNAPSHOT),
                 "--output", str(site)]) == 0
    [today] = load_digests(site)
    earlier = today.model_copy(update={"date": dt.date(2026, 4, 29), "topics": today.topics[:1]})
    publish(earlier, site, SiteConfig(url="https://digest.example/"))
    return site, today, earlier


def test_digest_json_is_versioned_and_round_trips(fake_llm, tmp_path):
    site, today, _ = _two_days(tmp_path)
    payload = json.loads((site / DEMO_DATE / "digest.json").read_text())
    assert payload["schema_version"] == SCHEMA_VERSION
    again = Digest.model_validate(payload["digest"])
    assert again == today
    assert again.papers[0].review.content.overall_evaluation.startswith("Fake overall_evaluation")


def test_archive_lists_days_newest_first_with_counts(fake_llm, tmp_path):
    site, today, earlier = _two_days(tmp_path)
    archive = (site / "index.html").read_text()
    assert_safe_html(archive)
    page = Page(archive)
    assert [i for i in page.ids if i.startswith("day-")] == ["day-2026-04-30", "day-2026-04-29"]
    assert f"{len(today.papers)} papers · {today.article_count} news articles · {len(today.topics)} topics" in page.plain
    assert "2026-04-30/index.html" in page.hrefs and "feed.xml" in page.hrefs


def test_atom_feed_has_one_entry_per_day(fake_llm, tmp_path):
    site, today, _ = _two_days(tmp_path)
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert feed.version == "atom10" and not feed.bozo
    assert sorted(e.link for e in feed.entries) == ["https://digest.example/2026-04-29/", "https://digest.example/2026-04-30/"]
    assert all(e.summary.startswith("Fake overview") for e in feed.entries)


def test_day_pages_link_their_neighbours(fake_llm, tmp_path):
    site, _, _ = _two_days(tmp_path)
    for day in ("2026-04-29", "2026-04-30"):
        assert_safe_html((site / day / "index.html").read_text())
    newer = Page((site / "2026-04-30" / "index.html").read_text())
    older = Page((site / "2026-04-29" / "index.html").read_text())
    assert "../2026-04-29/index.html" in newer.hrefs and "../2026-05-01/index.html" not in newer.hrefs
    assert "../2026-04-30/index.html" in older.hrefs
    assert "../index.html" in newer.hrefs


def test_a_corrupt_digest_json_is_skipped(fake_llm, tmp_path):
    site, _, _ = _two_days(tmp_path)
    (site / "2026-04-29" / "digest.json").write_text("{not json")
    assert [d.date.isoformat() for d in load_digests(site)] == [DEMO_DATE]


def test_render_rebuilds_pages_from_json_without_llm(fake_llm, tmp_path):
    site, _, _ = _two_days(tmp_path)
    page = site / DEMO_DATE / "index.html"
    page.unlink()
    calls = len(fake_llm.requests)
    assert main(["render", "--date", DEMO_DATE, "--output", str(site)]) == 0
    assert page.exists() and len(fake_llm.requests) == calls
    assert main(["render", "--date", "2020-01-01", "--output", str(site)]) == 1


def test_publishing_a_day_rewrites_only_it_and_its_neighbours(fake_llm, tmp_path):
    from digest.render.site import publish
    site, _, _ = _two_days(tmp_path)  # 2026-04-29 and 2026-04-30
    [old, new] = load_digests(site)
    publish(old.model_copy(update={"date": dt.date(2026, 4, 20)}), site)
    inode = {d: (site / d / "index.html").stat().st_ino for d in ("2026-04-20", "2026-04-29", "2026-04-30")}
    publish(new.model_copy(update={"date": dt.date(2026, 5, 1)}), site)
    after = {d: (site / d / "index.html").stat().st_ino for d in inode}
    assert after["2026-04-20"] == inode["2026-04-20"] and after["2026-04-29"] == inode["2026-04-29"]
    assert after["2026-04-30"] != inode["2026-04-30"]  # its "next day" link now exists
    assert "../2026-05-01/index.html" in Page((site / "2026-04-30" / "index.html").read_text()).hrefs


def test_every_paper_has_its_own_page_linked_both_ways(fake_llm, tmp_path):
    site, today, _ = _two_days(tmp_path)
    day = Page((site / DEMO_DATE / "index.html").read_text())
    pages = sorted((site / DEMO_DATE / "papers").glob("*.html"))
    assert len(pages) == len(today.papers)
    for w in today.papers:
        relative = paper_page(w.paper.arxiv_id)
        assert relative in day.hrefs
        html = (site / DEMO_DATE / relative).read_text()
        assert_safe_html(html)
        page = Page(html)
        assert f"../index.html#{paper_anchor(w.paper.arxiv_id)}" in page.hrefs and "../../index.html" in page.hrefs
        assert w.paper.title in page.plain and "6. Overall Evaluation" in page.plain
        assert "<details" not in html  # nothing folded on the paper's own page


def test_a_large_day_links_to_the_paper_pages_instead_of_inlining(fake_llm, tmp_path):
    site, today, _ = _two_days(tmp_path)
    big = today.model_copy(update={"date": dt.date(2026, 5, 1)})
    publish(big, site, SiteConfig(inline_max=len(today.papers) - 1))
    html = (site / "2026-05-01" / "index.html").read_text()
    assert_safe_html(html)
    assert "Overall Evaluation" not in html and 'id="notice-paper-pages"' in html
    assert f'<details class="toc-papers"><summary>All {len(today.papers)} titles</summary>' in html  # a long contents list folds
    assert html.count("AI Review and Research Directions →") == len(today.papers)
    assert len(list((site / "2026-05-01" / "papers").glob("*.html"))) == len(today.papers)
    inline = (site / "2026-04-29" / "index.html").read_text()  # same papers, rendered at the default limit
    assert inline.count("6. Overall Evaluation") == len(today.papers) and 'id="notice-paper-pages"' not in inline
    assert "toc-papers" not in inline


def test_a_rebuild_removes_the_pages_of_papers_no_longer_selected(fake_llm, tmp_path):
    site, today, _ = _two_days(tmp_path)
    publish(today.model_copy(update={"papers": today.papers[:2]}), site)
    kept = {p.name for p in (site / DEMO_DATE / "papers").glob("*.html")}
    assert kept == {paper_page(w.paper.arxiv_id).removeprefix("papers/") for w in today.papers[:2]}


def test_the_documented_schema_is_the_models_and_describes_a_built_day(fake_llm, tmp_path):
    import jsonschema

    from digest.render.site import json_schema
    committed = json.loads((Path(__file__).parent.parent / "docs" / "digest.schema.json").read_text())
    assert committed == json_schema(), "docs/digest.schema.json is out of date: digest schema > docs/digest.schema.json"
    site, _, _ = _two_days(tmp_path)
    validator = jsonschema.Draft202012Validator(committed, format_checker=jsonschema.FormatChecker())
    payload = json.loads((site / DEMO_DATE / "digest.json").read_text())
    validator.validate(payload)
    del payload["digest"]["papers"][0]["review"]["status"]
    payload["schema_version"] = 2
    assert len(list(validator.iter_errors(payload))) == 2
