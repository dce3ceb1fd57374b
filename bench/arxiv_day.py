"""The synthetic arXiv-scale day of bench/day.py, as a snapshot in the layout `digest fetch` stores
(digest.fetch.store): the demo's announcement feeds, an export-API response of 1,000 real recorded
papers under new ids, and 300 recorded news and comment items re-dated into the news window."""

from __future__ import annotations

import datetime as dt
import email.utils
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import lxml.etree as etree  # a module import: type checkers do not find the compiled etree in lxml
from lxml.builder import ElementMaker

from digest.config import ArxivConfig, FeedConfig, load_config
from digest.fetch.arxiv import api_query_url, submission_window
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.store import RawResponse, SnapshotStore
from digest.models import Paper, arxiv_links

DATE = dt.date(2026, 4, 30)
FETCHED = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)  # when the demo's responses were fetched
CANDIDATES, ARTICLES = 1000, 300
WINDOW_DAYS = 2  # the news window: the articles are dated from its start to FETCHED

DEMO = SnapshotStore(ROOT / "demo" / "snapshot", DATE)
DATA = ROOT / "tests" / "data"
API_FILES = ("arxivpy_q_testing_s0_m100_cfe7536492ca.xml",)  # export-API responses besides the demo's
OAI_DC_FILE = "scrapi_oai_dc_ListRecords_2014-12-24.xml"
# Recorded feeds of tests/data beside the demo's (PROVENANCE.md): name, kind, file, the feed's URL.
FEEDS = (
    ("TIME Tech", "news", "kagi_time_tech.rss", "https://time.com/tech/feed/"),
    ("NYT World", "news", "kagi_nyt_world.rss", "https://rss.nytimes.com/services/xml/rss/nyt/World.xml"),
    ("Rest of World", "news", "kagi_restofworld.rss", "https://restofworld.org/feed/latest"),
    ("Hacker News", "comment", "feedjira_hackernews_RSSWithComments.xml", "https://news.ycombinator.com/rss"),
    ("Reddit", "comment", "rssparser_reddit.rss", "https://www.reddit.com/.rss"),
    ("r/homelab", "comment", "feedrs_atom_mediarss_reddit_1.xml", "https://www.reddit.com/r/homelab/new/.rss"),
)
# Measured on 1,094 real papers announced as one day, before the whole-day list, stories and reader
# relevance: (what, seconds, peak MB or None, page MB or None).
EARLIER = (
    ("100 written up (301 calls), 0 s endpoint", 3.6, 93.0, None),
    ("100 written up, 1 s endpoint (critical-path bound 22 s)", 23.6, None, None),
    ("1,000 written up, 0 s endpoint", 15.0, 167.0, 3.1),
)

ATOM, ARXIV, OPENSEARCH = (
    "http://www.w3.org/2005/Atom",
    "http://arxiv.org/schemas/atom",
    "http://a9.com/-/spec/opensearch/1.1/",
)
OAI, OAI_DC, DC = (
    "http://www.openarchives.org/OAI/2.0/",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "http://purl.org/dc/elements/1.1/",
)
_NSMAP = {None: ATOM, "arxiv": ARXIV, "opensearch": OPENSEARCH}
A, X, S = (ElementMaker(namespace=ns, nsmap=_NSMAP) for ns in (ATOM, ARXIV, OPENSEARCH))
# No DTDs, no entities, no network (the recorded feeds are data).
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def demo_response(name: str) -> RawResponse:
    """The demo snapshot's response stored as `name`. Raises LookupError when it holds none."""
    response = DEMO.load(name)
    if response is None:
        raise LookupError(f"the demo snapshot ({DEMO.dir}) holds no response named {name!r}")
    return response


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def oai_dc_papers(path: Path) -> list[Paper]:
    """The records of an OAI-PMH ListRecords response in oai_dc (Dublin Core) as Papers: the title,
    the creators ("Last, First" as "First Last", as the export API names authors), the first
    description as the abstract, a "Comment:" description as the comment, the record's set (its
    arXiv archive: "physics:hep-th" -> "hep-th") as its category. Deleted records are skipped."""
    papers = []
    for record in etree.parse(str(path), _PARSER).getroot().iter(f"{{{OAI}}}record"):
        dc = record.find(f"{{{OAI}}}metadata/{{{OAI_DC}}}dc")
        if dc is None:
            continue
        texts = {
            tag: [_words(e.text) for e in dc.iter(f"{{{DC}}}{tag}")] for tag in ("title", "creator", "description")
        }
        arxiv_id = record.findtext(f"{{{OAI}}}header/{{{OAI}}}identifier", "").removeprefix("oai:arXiv.org:")
        archive = record.findtext(f"{{{OAI}}}header/{{{OAI}}}setSpec", "").split(":")[-1]
        comments = [d.removeprefix("Comment: ") for d in texts["description"] if d.startswith("Comment:")]
        papers.append(
            Paper(
                arxiv_id=arxiv_id,
                title=texts["title"][0],
                authors=[" ".join(reversed(c.split(", ", 1))) for c in texts["creator"]],
                summary=texts["description"][0],
                categories=[archive],
                primary_category=archive,
                comment=comments[0] if comments else None,
                abs_url=arxiv_links(arxiv_id)["abs_url"],
                pdf_url=arxiv_links(arxiv_id)["pdf_url"],
            )
        )
    return papers


def recorded_papers(count: int) -> list[Paper]:
    """`count` real recorded papers, each once: the demo day's export-API response, then API_FILES,
    then the OAI-PMH records. Raises ValueError when they hold fewer."""
    papers = parse_api(demo_response("arxiv-api").body)
    papers += [p for name in API_FILES for p in parse_api((DATA / name).read_bytes())]
    papers += oai_dc_papers(DATA / OAI_DC_FILE)
    if len(papers) < count:
        raise ValueError(f"the recorded responses hold {len(papers)} papers, fewer than the {count} asked for")
    return papers[:count]


def api_response(papers: list[Paper], date: dt.date) -> bytes:
    """An export-API Atom response (the API's element names and namespaces) listing `papers` under
    new ids of `date`'s month, each version 1 (so a new paper), submitted one after the other across
    the submission window announced on `date`; totalResults is their number, so one page is the
    whole listing."""
    first, last = submission_window(date)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    entries = []
    for i, paper in enumerate(papers):
        arxiv_id, submitted = f"{date:%y%m}.{30000 + i:05d}", (first + (last - first) * i / len(papers)).strftime(stamp)
        optional = ((X.comment, paper.comment), (X.journal_ref, paper.journal_ref), (X.doi, paper.doi))
        entries.append(
            A.entry(
                A.id(f"http://arxiv.org/abs/{arxiv_id}v1"),
                A.title(paper.title),
                A.updated(submitted),
                A.link(href=f"https://arxiv.org/abs/{arxiv_id}v1", rel="alternate", type="text/html"),
                A.link(href=f"https://arxiv.org/pdf/{arxiv_id}v1", rel="related", type="application/pdf", title="pdf"),
                A.summary(paper.summary),
                *(A.category(term=c, scheme=ARXIV) for c in paper.categories),
                A.published(submitted),
                *(make(value) for make, value in optional if value),
                X.primary_category(term=paper.primary_category),
                *(A.author(A.name(name)) for name in paper.authors),
            )
        )
    url = api_query_url(ArxivConfig(), date)
    feed = A.feed(
        A.id(url),
        A.title(f"arXiv Query: {url}"),
        A.updated(FETCHED.strftime(stamp)),
        S.itemsPerPage(str(len(papers))),
        S.totalResults(str(len(papers))),
        S.startIndex("0"),
        *entries,
    )
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _items(tree: etree._ElementTree) -> list[etree._Element]:
    """The items of an RSS 2.0 feed or the entries of an Atom feed."""
    root = tree.getroot()
    return list(root.iter(f"{{{ATOM}}}entry")) if root.tag == f"{{{ATOM}}}feed" else list(root.iter("item"))


def redated(tree: etree._ElementTree, count: int, end: dt.datetime, span: dt.timedelta) -> bytes:
    """The feed `tree` with its first `count` items kept, dated evenly over the `span` before `end`
    (newest first: pubDate for RSS, published and updated for Atom), and its other items dropped."""
    items = _items(tree)
    for item in items[count:]:
        item.getparent().remove(item)
    dates = ("pubDate", f"{{{DC}}}date", f"{{{ATOM}}}published", f"{{{ATOM}}}updated")
    for j, item in enumerate(items[:count]):
        for old in [e for e in item if e.tag in dates]:
            item.remove(old)
        when = end - span * (j + 0.5) / count
        if item.tag == "item":
            etree.SubElement(item, "pubDate").text = email.utils.format_datetime(when)
        else:
            for tag in ("published", "updated"):
                etree.SubElement(item, f"{{{ATOM}}}{tag}").text = when.isoformat()
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def quotas(sizes: list[int], total: int) -> list[int]:
    """How many items to take of feeds holding `sizes` items: `total` in all, one from each feed in
    turn (so the large feeds give the rest). Raises ValueError when the feeds hold fewer."""
    if total > sum(sizes):
        raise ValueError(f"the recorded feeds hold {sum(sizes)} items, fewer than the {total} asked for")
    taken = [0] * len(sizes)
    while sum(taken) < total:
        for i, size in enumerate(sizes):
            if taken[i] < size and sum(taken) < total:
                taken[i] += 1
    return taken


def recorded_feeds() -> list[tuple[FeedConfig, etree._ElementTree]]:
    """The demo's feeds (as demo/sources.yaml names them, their recorded bodies) and FEEDS, parsed."""
    demo = [(f, demo_response(f.source_name).body) for f in load_config(ROOT / "demo" / "sources.yaml").news.feeds]
    ours = [
        (FeedConfig.model_validate({"name": n, "kind": k, "url": u}), (DATA / f).read_bytes()) for n, k, f, u in FEEDS
    ]
    return [(feed, etree.fromstring(body, _PARSER).getroottree()) for feed, body in demo + ours]


def write_snapshot(root: Path) -> tuple[list[FeedConfig], int]:
    """Store the day's responses under `root` (SnapshotStore, as `digest fetch` does); returns the
    feeds and the most items any one of them holds (news.max_per_feed)."""
    store = SnapshotStore(root, DATE)
    for category in ArxivConfig().categories:
        store.save(demo_response(f"arxiv-rss-{category}"))
    body = api_response(recorded_papers(CANDIDATES), DATE)
    url = api_query_url(ArxivConfig(), DATE)
    store.save(
        RawResponse(
            name="arxiv-api", url=url, status=200, content_type="application/atom+xml", body=body, fetched_at=FETCHED
        )
    )
    feeds = recorded_feeds()
    counts = quotas([len(_items(tree)) for _, tree in feeds], ARTICLES)
    window = FETCHED - dt.datetime.combine(DATE - dt.timedelta(days=WINDOW_DAYS - 1), dt.time(), dt.UTC)
    for (feed, tree), count in zip(feeds, counts, strict=True):
        body = redated(tree, count, FETCHED, window)
        store.save(
            RawResponse(
                name=feed.source_name,
                url=feed.url,
                status=200,
                content_type="application/xml",
                body=body,
                fetched_at=FETCHED,
            )
        )
    return [feed for feed, _ in feeds], max(counts)
