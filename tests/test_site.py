"""The site: digest.json round trip, the archive, the Atom feed, previous/next links."""

import datetime as dt
import json
import re
import time
from pathlib import Path

import feedparser
import pytest
from atom_rules import UUID_URN
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, Page, build_args
from safe_html import assert_safe_html

from digest.cli import main
from digest.config import ArxivConfig, SiteConfig, load_config
from digest.fetch.arxiv import fetch_papers
from digest.fetch.sources import Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.models import REVIEW_PARTS, Digest, ReviewPoint
from digest.render.html import paper_anchor, paper_page
from digest.render.publish import publish, render_site
from digest.render.site import SCHEMA_VERSION, SiteError, load_digests, read_published

# The demo day as schema version 1 wrote it (built by digest 0.1.0 with tests/fake_llm.py, cut to two
# papers and two topics): a review part was one text, a commentary or overview one Markdown string.
V1_DAY = Path(__file__).parent / "data" / "digest_schema1_2026-04-30.json"


def _two_days(tmp_path):
    site = tmp_path / "site"
    assert main(build_args(output=site)) == 0
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
    assert again.papers[0].review.content.overall_evaluation[0].text.startswith("Fake text about")


def test_archive_lists_days_newest_first_with_counts(fake_llm, tmp_path):
    site, today, earlier = _two_days(tmp_path)
    archive = (site / "index.html").read_text()
    assert_safe_html(archive)
    page = Page(archive)
    assert [i for i in page.ids if i.startswith("day-")] == ["day-2026-04-30", "day-2026-04-29"]
    assert (
        f"{len(today.papers)} papers · {today.article_count} news articles · {len(today.topics)} topics" in page.plain
    )
    assert "2026-04-30/index.html" in page.hrefs and "feed.xml" in page.hrefs


def test_atom_feed_has_one_entry_per_day(fake_llm, tmp_path):
    site, today, _ = _two_days(tmp_path)
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert feed.version == "atom10" and not feed.bozo
    assert sorted(e.link for e in feed.entries) == [
        "https://digest.example/2026-04-29/",
        "https://digest.example/2026-04-30/",
    ]
    assert all(e.summary.startswith("Fake paragraph") for e in feed.entries)


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
    from digest.render.publish import publish

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
    assert (
        f'<details class="toc-papers"><summary>All {len(today.papers)} titles</summary>' in html
    )  # a long contents list folds
    assert html.count("AI Review and Research Directions →") == len(today.papers)
    assert len(list((site / "2026-05-01" / "papers").glob("*.html"))) == len(today.papers)
    inline = (site / "2026-04-29" / "index.html").read_text()  # same papers, rendered at the default limit
    assert inline.count("6. Overall Evaluation") == len(today.papers) and 'id="notice-paper-pages"' not in inline
    assert "toc-papers" not in inline


def test_a_rebuild_keeps_the_pages_of_papers_no_longer_selected(fake_llm, tmp_path):  # permalinks stay
    site, today, _ = _two_days(tmp_path)
    before = {p.name: p.read_bytes() for p in (site / DEMO_DATE / "papers").glob("*.html")}
    publish(today.model_copy(update={"papers": today.papers[:2]}), site)
    after = {p.name: p.read_bytes() for p in (site / DEMO_DATE / "papers").glob("*.html")}
    assert set(after) == set(before) and len(before) == len(today.papers)
    dropped = [paper_page(w.paper.arxiv_id).removeprefix("papers/") for w in today.papers[2:]]
    assert all(after[name] == before[name] for name in dropped)  # the page as it was published


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
    payload["schema_version"] = SCHEMA_VERSION + 1
    assert len(list(validator.iter_errors(payload))) == 2


def _plain_texts(site: Path, day: str) -> dict[str, str]:
    """The reader-visible text of the day's page, a paper page, the archive and the feed."""
    paper = next((site / day / "papers").glob("*.html"))
    pages = {
        name: Page(path.read_text()).plain
        for name, path in (("page", site / day / "index.html"), ("paper page", paper), ("archive", site / "index.html"))
    }
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    return pages | {"feed": " ".join(e.summary for e in feed.entries)}


def test_every_count_agrees_in_number(fake_llm, tmp_path):
    from digest.models import Section, Usage

    site, today, _ = _two_days(tmp_path)
    topic = today.topics[0]
    news = next(a for a in topic.articles if a.kind == "news")
    one = today.model_copy(
        update={
            "date": dt.date(2026, 5, 1),
            "papers": today.papers[:1],
            "filtered_out": 1,
            "topics": [topic.model_copy(update={"articles": [news]})],
            "usage": Usage(calls=1, prompt_tokens=1),
            "overview": Section(status="unavailable", error="the model failed"),  # the feed then counts instead
            "sources": [*today.sources, today.sources[0].model_copy(update={"state": "failed", "reason": "HTTP 500"})],
        }
    )
    publish(one, site, SiteConfig(inline_max=0))
    texts = _plain_texts(site, "2026-05-01")
    assert "1 paper · 1 news article · 1 topic" in texts["page"] and "1 paper summarized" in texts["page"]
    assert (
        "1 article across 1 topic" in texts["page"] and "1 story" in texts["page"] and "1 stories" not in texts["page"]
    )
    assert "All 1 title" in texts["page"] and "1 paper left out" in texts["page"]
    assert "1 source could not be read" in texts["page"] and "1 LLM call · 1 token" in texts["page"]
    assert "1 paper · 1 news article · 1 topic" in texts["archive"]
    assert "1 paper, 1 news article, 1 topic." in texts["feed"]
    plural_of_one = re.compile(r"\b1 (papers|titles|news articles|articles|topics|comments|sources|LLM calls|tokens)\b")
    assert {name: plural_of_one.findall(text) for name, text in texts.items()} == dict.fromkeys(texts, [])


def test_sections_name_their_model_and_input_but_no_internals(fake_llm, tmp_path):
    site = tmp_path / "site"
    build = build_args(output=site)
    assert main(build) == 0
    calls = len(fake_llm.requests)
    assert main(build) == 0 and len(fake_llm.requests) == calls  # a rebuild: every section from the answer cache
    [rebuilt] = load_digests(site)
    assert all(w.summary.provenance.cached and "@" in w.summary.provenance.prompt for w in rebuilt.papers)
    unplanned = rebuilt.model_copy(update={"date": dt.date(2026, 5, 1), "topic_plan_status": "unavailable"})
    publish(unplanned, site)
    paper = next((site / "2026-05-01" / "papers").glob("*.html")).read_text()
    for html in ((site / day / "index.html").read_text() for day in (DEMO_DATE, "2026-05-01")):
        lines = set(re.findall(r'<p class="provenance">(.*?)</p>', html + paper))
        assert lines == {
            "Generated by: gpt-4o-mini · from the abstract",
            "Generated by: gpt-4o-mini · from the linked articles",
            "Generated by: gpt-4o-mini · from today&#39;s papers and news",
        }  # the overview
        assert set(re.findall(r'<span class="badge">(.*?)</span>', html + paper)) == {"abstract only"}
    notice = re.search(r'id="notice-topic-plan">(.*?)</p>', (site / "2026-05-01" / "index.html").read_text())
    assert notice.group(1) == "The model could not name today's topics, so each is titled by its keywords."


def test_a_rerender_leaves_the_feed_byte_for_byte_unchanged(fake_llm, tmp_path):
    site, today, earlier = _two_days(tmp_path)
    (site / "feed.xml").unlink()  # as if never published with a URL
    for url in (None, "https://digest.example/site/"):
        render_site(site, SiteConfig(url=url))
        first = (site / "feed.xml").read_bytes()
        time.sleep(0.01)  # a clock-derived time would differ
        render_site(site, SiteConfig(url=url))
        assert (site / "feed.xml").read_bytes() == first, url
        feed = feedparser.parse(first)
        ids = [e.id for e in feed.entries]
        if url:
            assert ids == [f"{url}{day}/" for day in ("2026-04-30", "2026-04-29")]
        else:  # RFC 4122 name-based UUIDs, one per day
            assert len(set(ids)) == 2 and all(UUID_URN.match(i) for i in ids + [feed.feed.id]), ids
        assert feed.feed.updated_parsed == max(e.updated_parsed for e in feed.entries)
        assert feed.feed.updated_parsed == max(today.generated_at, earlier.generated_at).utctimetuple()
        links = re.findall(rb'<link href="([^"]*)"', first)
        if url:  # the feed itself, the archive, one page per day
            assert len(links) == 4 and all(link.startswith(b"https://digest.example/site/") for link in links), links
        else:  # no self link; the rest relative to feed.xml, so a site served from a sub-folder still resolves
            assert len(links) == 3 and not any(link.startswith(b"/") for link in links), links
    render_site(site, SiteConfig())  # the setting went missing (a mistyped config): the ids stay
    assert (site / "feed.xml").read_bytes() == first


@pytest.mark.parametrize("day, why", [("2026-05-02", "Saturday"), ("2026-05-03", "Sunday"), ("2026-11-26", "holiday")])
def test_a_day_without_a_mailing_says_so(fake_llm, tmp_path, day, why):
    site, today, _ = _two_days(tmp_path)
    date = dt.date.fromisoformat(day)
    nothing = ReplaySource(SnapshotStore(tmp_path / "empty", date))  # a request would fail, and show
    papers, statuses, backfilled = fetch_papers(ArxivConfig(holidays=[dt.date(2026, 11, 26)]), date, nothing, Pacer(0))
    news = [s for s in today.sources if not s.source.startswith("arxiv")]
    publish(
        today.model_copy(update={"date": date, "papers": papers, "backfilled": backfilled, "sources": statuses + news}),
        site,
    )
    page = Page((site / day / "index.html").read_text()).plain
    assert f"No arXiv mailing today ({why})." in page and "No new arXiv announcements" not in page
    assert (
        f"no arXiv mailing ({why}) · {today.article_count} news articles"
        in Page((site / "index.html").read_text()).plain
    )


def test_a_day_whose_arxiv_requests_all_failed_says_which_and_is_not_backfilled(fake_llm, tmp_path):
    date = dt.date.fromisoformat(DEMO_DATE)
    snap, demo = SnapshotStore(tmp_path / "snap", date), SnapshotStore(DEMO_SNAPSHOT, date)
    for feed in load_config(DEMO_CONFIG).news.feeds:  # the news of the day; every arXiv request fails
        snap.save(demo.load(f"feed-{feed.name}"))
    site = tmp_path / "site"
    assert main(build_args(output=site, snapshot=tmp_path / "snap")) == 3  # published, degraded
    [day] = load_digests(site)
    assert day.backfilled and not day.papers  # the export API was asked, and failed too
    html = (site / DEMO_DATE / "index.html").read_text()
    page, archive = Page(html).plain, Page((site / "index.html").read_text()).plain
    assert "Backfilled" not in page and "No new arXiv announcements" not in page and "backfilled" not in archive
    notice = Page(re.search(r'<p class="notice" id="notice-no-papers">.*?</p>', html).group(0)).plain
    assert notice == (
        "Today's papers could not be fetched: arXiv's cs.AI announcement feed failed (not in the "
        "snapshot); arXiv's cs.CL announcement feed failed (not in the snapshot); arXiv's cs.LG "
        "announcement feed failed (not in the snapshot); the arXiv export API failed (not in the snapshot)."
    )


def _v1_site(tmp_path) -> tuple[Path, dict]:
    """A site of two days written by schema version 1, 2026-04-29 and DEMO_DATE, and the payload of
    the second: its overview of three paragraphs, the first a heading, and its second review unavailable."""
    site = tmp_path / "site"
    payload = json.loads(V1_DAY.read_text())
    assert payload["schema_version"] == 1 and "commentary" in payload["digest"]["topics"][0]["commentary"]["content"]
    for day in ("2026-04-29", DEMO_DATE):
        payload["digest"]["date"] = day
        (site / day).mkdir(parents=True)
        (site / day / "digest.json").write_text(json.dumps(payload))
    payload["digest"]["overview"]["content"]["overview"] = (
        "## Today\n\nThe first paragraph of the overview, about papers.\n\n\nThe second one, after two blank lines."
    )
    payload["digest"]["papers"][1]["review"] = {"status": "unavailable", "content": None, "error": "the model failed"}
    (site / DEMO_DATE / "digest.json").write_text(json.dumps(payload))
    return site, payload["digest"]


def test_a_day_of_schema_version_1_is_read_in_the_new_shapes(tmp_path):
    site, v1 = _v1_site(tmp_path)
    [_, day] = load_digests(site, strict=True)
    old_review = v1["papers"][0]["review"]["content"]
    assert day.papers[0].review.content.parts() == {
        part: [ReviewPoint(title="", text=old_review[part], evidence="", evidence_found=None)] for part in REVIEW_PARTS
    }
    assert day.papers[1].review.status == "unavailable" and day.papers[1].review.content is None
    assert day.overview.content.paragraphs == [
        "## Today\n\nThe first paragraph of the overview, about papers.",  # a heading is no paragraph of its own
        "The second one, after two blank lines.",
    ]
    assert [t.commentary.content.markdown for t in day.topics] == [
        t["commentary"]["content"]["commentary"] for t in v1["topics"]
    ]
    assert read_published(site, day.date) == day  # what a rebuild of the day starts from
    for version in (0, SCHEMA_VERSION + 1, None):
        payload = json.loads((site / DEMO_DATE / "digest.json").read_text())
        (site / DEMO_DATE / "digest.json").write_text(json.dumps(payload | {"schema_version": version}))
        with pytest.raises(SiteError, match=f"schema version {version}, expected {SCHEMA_VERSION} or earlier"):
            load_digests(site, strict=True)


def test_a_site_of_schema_version_1_days_renders_and_republishes(tmp_path):
    site, v1 = _v1_site(tmp_path)
    render_site(site, SiteConfig(url="https://digest.example/"))  # digest render: pages, archive, feed
    html = (site / DEMO_DATE / "index.html").read_text()
    paper = (site / DEMO_DATE / paper_page(v1["papers"][0]["paper"]["arxiv_id"])).read_text()
    for page in (html, paper, (site / "index.html").read_text()):
        assert_safe_html(page)
    text = Page(paper).plain
    assert (
        "6. Overall Evaluation" in text and " ".join(v1["papers"][0]["review"]["content"]["weaknesses"].split()) in text
    )
    assert 'class="evidence"' not in paper and "quote not found" not in paper  # a version 1 review has no quotes
    assert "The review is unavailable today: the model failed." in Page(html).plain
    assert [i for i in Page((site / "index.html").read_text()).ids if i.startswith("day-")] == [
        f"day-{DEMO_DATE}",
        "day-2026-04-29",
    ]
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert sorted(e.summary for e in feed.entries) == [
        "## Today\n\nThe first paragraph of the overview, about papers.\n\nThe second one, after two blank lines.",
        json.loads(V1_DAY.read_text())["digest"]["overview"]["content"]["overview"],  # 2026-04-29's, as written
    ]
    assert json.loads((site / DEMO_DATE / "digest.json").read_text())["schema_version"] == 1  # rendering only reads
    publish(read_published(site, dt.date.fromisoformat(DEMO_DATE)), site)
    assert json.loads((site / DEMO_DATE / "digest.json").read_text())["schema_version"] == SCHEMA_VERSION
    assert load_digests(site, strict=True)[1] == read_published(site, dt.date.fromisoformat(DEMO_DATE))
