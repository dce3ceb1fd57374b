"""The feeds (digest.render.feeds): feed.xml and papers.xml valid by the W3C Feed Validator's Atom
rules (tests/atom_rules.py) and for feedparser, with and without site.url; ids stable across
rebuilds, updated times that change only with the entry, absolute links; papers.xml holds the
papers of the newest days, from the archive index."""

import datetime as dt
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest
from atom_rules import UUID_URN, atom_problems, names
from days import small_day

from digest.config import SiteConfig
from digest.models import Digest, PaperSummary, Section, Topic
from digest.render.feeds import PAPER_FEED_DAYS, FeedInfo, PaperEntry, paper_entries, render_paper_feed
from digest.render.index import ArchiveIndex, index_path
from digest.render.publish import publish, render_site
from digest.render.site import read_published

URL = "https://digest.example/site/"

# feed.xml as the digest wrote it before this change, for a site without site.url (two days): the W3C
# Feed Validator reported on it "id is not a valid URN", "Relative href value on self link" and
# "Missing entry element: author".
OLD_FEED_WITHOUT_URL = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>urn:paperbot-daily-digest</id>
  <title>PaperBot Daily Digest</title>
  <updated>2026-04-29T06:30:00+00:00</updated>
  <link href="feed.xml" rel="self"/>
  <link href="./" rel="alternate"/>
  <subtitle>New arXiv papers and AI news, every day</subtitle>
  <entry>
    <id>urn:paperbot-daily-digest:2026-04-29</id>
    <title>PaperBot Daily Digest — 2026-04-29</title>
    <updated>2026-04-29T06:30:00+00:00</updated>
    <link href="2026-04-29/"/>
    <summary>2 papers.</summary>
    <published>2026-04-29T06:30:00+00:00</published>
  </entry>
</feed>
"""


def _summarized(digest: Digest, texts: dict[int, str]) -> Digest:
    """`digest` with the summaries of its papers at the positions of `texts` written ("ok")."""
    papers = list(digest.papers)
    for n, text in texts.items():
        paper = papers[n].paper
        summary = Section(status="ok", content=PaperSummary(arxiv_id=paper.arxiv_id, title=paper.title, summary=text))
        papers[n] = papers[n].model_copy(update={"summary": summary})
    return digest.model_copy(update={"papers": papers})


def _site(tmp_path: Path, url: str | None, days: int = 3) -> tuple[Path, Path]:
    """A site of `days` days to 2026-04-30, three papers each, the first two summarized."""
    site, data = tmp_path / "site", tmp_path / "data"
    for n in range(days):
        day = small_day(dt.date(2026, 4, 30) - dt.timedelta(days=days - 1 - n))
        summary = f"A plain account of paper {{}} of {day.date}, <b>in</b> words a reader & a model share."
        publish(_summarized(day, {0: summary.format(1), 1: summary.format(2)}), site, SiteConfig(url=url), data)
    return site, data


def _entries(path: Path) -> dict[str, feedparser.FeedParserDict]:
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    return {e.id: e for e in feed.entries}


def test_the_rules_report_what_the_validator_reported_on_the_old_feed():
    problems = atom_problems(OLD_FEED_WITHOUT_URL)
    assert names(problems, "error") == {"InvalidURN", "MissingElement"}
    assert [p.where for p in problems if p.name == "MissingElement"] == [
        "entry urn:paperbot-daily-digest:2026-04-29 author"
    ]
    assert names(problems, "warning") == {"RelativeSelf"}


@pytest.mark.parametrize("url", [URL, None])
def test_every_feed_is_valid_and_its_links_lead_to_the_site(tmp_path, url):
    site, _ = _site(tmp_path, url)
    for feed, allowed in (("feed.xml", set()), ("papers.xml", {"DuplicateUpdated"})):
        text = (site / feed).read_bytes()
        problems = atom_problems(text)
        assert names(problems, "error") == set(), (feed, problems)
        # Without an absolute URL the feed cannot link itself (a relative self link is RelativeSelf):
        # MissingSelf. The papers of a day share its time: DuplicateUpdated, "no action necessary".
        assert names(problems, "warning") == allowed | ({"MissingSelf"} if url is None else set()), (feed, problems)
        parsed = feedparser.parse(text)
        assert not parsed.bozo and parsed.version == "atom10"
        assert parsed.feed.author == "PaperBot Daily Digest"
        ids = [parsed.feed.id] + [e.id for e in parsed.entries]
        assert len(set(ids)) == len(ids)
        hrefs = [link.href for link in parsed.feed.links] + [link.href for e in parsed.entries for link in e.links]
        if url:
            assert all(i.startswith(URL) for i in ids) and all(h.startswith(URL) for h in hrefs), (ids, hrefs)
            assert {"rel": "self", "href": f"{URL}{feed}"}.items() <= parsed.feed.links[0].items()
        else:
            assert all(UUID_URN.match(i) for i in ids), ids
            assert all("://" not in h and not h.startswith("/") for h in hrefs), hrefs
            for href in hrefs:  # relative to the feed: each names a page of the site
                target = site / urljoin(f"https://served.example/{feed}", href).removeprefix("https://served.example/")
                assert (target / "index.html" if href.endswith("/") else target).is_file(), href


def test_papers_xml_holds_the_papers_of_the_newest_days_with_their_categories(tmp_path):
    site, data = _site(tmp_path, URL, days=PAPER_FEED_DAYS + 2)
    entries = list(_entries(site / "papers.xml").values())
    newest = [dt.date(2026, 4, 30) - dt.timedelta(days=n) for n in range(PAPER_FEED_DAYS)]
    with ArchiveIndex(index_path(data)) as index:
        expected = index.papers(PAPER_FEED_DAYS, 1000)
        assert index.papers(PAPER_FEED_DAYS, 5) == expected[:5]  # the newest first, cut at the limit
    assert [(e.date, e.arxiv_id) for e in expected] == [
        (day, w.paper.arxiv_id) for day in newest for w in small_day(day).papers
    ]  # every paper of the newest days, each day's in page order, and no older day's
    assert len(entries) == len(expected) == 3 * PAPER_FEED_DAYS
    for entry, paper in zip(entries, expected, strict=True):
        assert entry.link == f"{URL}{paper.date}/papers/{paper.arxiv_id.replace('.', '-')}.html"
        assert (site / entry.link.removeprefix(URL)).is_file()
        assert entry.title == paper.title
        assert [t.term for t in entry.tags] == list(paper.categories)
        assert {t.scheme for t in entry.tags} == {"http://arxiv.org/schemas/atom"}  # arXiv's own scheme
    first = small_day(newest[0]).papers
    assert paper_entries(small_day(newest[0]))[1].categories == ("cs.LG", "math.ST", "q-bio.GN", "stat.ME", "stat.ML")
    assert expected[0].categories == tuple(dict.fromkeys([first[0].paper.primary_category, *first[0].paper.categories]))
    assert entries[0].summary.startswith("A plain account of paper 1") and "<b>" not in entries[0].summary
    assert entries[2].summary == f"arXiv abstract: {first[2].paper.summary}".strip()  # no summary written: the abstract


def _times(path: Path) -> dict[str, tuple]:
    return {i: (e.published, e.updated) for i, e in _entries(path).items()}


def test_ids_stay_and_times_change_only_with_the_entry(tmp_path):
    site, data = _site(tmp_path, None)
    day = dt.date(2026, 4, 30)
    papers, days = _times(site / "papers.xml"), _times(site / "feed.xml")
    published = read_published(site, day)
    assert published is not None
    later = published.generated_at + dt.timedelta(hours=5)
    extra = Topic(title="Late news", description="d", articles=[], commentary=published.topics[0].commentary)
    news = published.model_copy(update={"generated_at": later, "topics": [*published.topics, extra]})
    publish(news, site, SiteConfig(), data)  # rebuilt for its news: the papers and the overview say the same
    assert _times(site / "papers.xml") == papers and _times(site / "feed.xml") == days
    rewritten = _summarized(news, {0: "Another account of the first paper, written again by another model."})
    publish(rewritten.model_copy(update={"generated_at": later + dt.timedelta(hours=1)}), site, SiteConfig(), data)
    now = _times(site / "papers.xml")
    [changed] = [i for i in now if now[i] != papers[i]]
    assert now[changed][0] == papers[changed][0]  # first published then
    assert dt.datetime.fromisoformat(now[changed][1]) == later + dt.timedelta(hours=1)
    assert changed == min(now, key=list(now).index)  # the newest day's first paper
    before = (site / "papers.xml").read_bytes(), (site / "feed.xml").read_bytes()
    render_site(site)  # `digest render`: from every digest.json, the same ids and times
    assert ((site / "papers.xml").read_bytes(), (site / "feed.xml").read_bytes()) == before
    again, _ = _site(tmp_path / "elsewhere", None)  # the same days built anew in another folder
    assert set(_times(again / "papers.xml")) == set(papers) and set(_times(again / "feed.xml")) == set(days)


def test_a_for_you_feed_is_the_paper_feed_over_other_writeups_with_a_why(tmp_path):
    day = _summarized(small_day(dt.date(2026, 4, 30)), {0: "A plain account of the paper, for a general reader."})
    chosen = [
        PaperEntry(**{**e.__dict__, "why": f"You cited {e.arxiv_id}'s authors <i>twice</i>."})
        for e in paper_entries(day)[:2]
    ]
    for_you = FeedInfo("for-you.xml", "PaperBot Daily Digest: for you", "The papers your profile picked")
    text = render_paper_feed(chosen, URL, for_you)
    assert names(atom_problems(text)) == {"DuplicateUpdated"}
    parsed = feedparser.parse(text)
    assert parsed.feed.id == f"{URL}for-you.xml" != feedparser.parse(render_paper_feed(chosen, URL)).feed.id
    assert parsed.feed.title == for_you.title and parsed.feed.links[0].href == f"{URL}for-you.xml"
    assert [e.summary.split("\n\n")[0] for e in parsed.entries] == [
        f"Why: You cited {e.arxiv_id}'s authors twice." for e in chosen
    ]
    assert parsed.entries[0].summary.endswith("A plain account of the paper, for a general reader.")
