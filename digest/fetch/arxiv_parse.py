"""arXiv's listings read into Papers: the announcement feeds (rss.arxiv.org, RSS 2.0 with
arxiv:announce_type, parsed by feedparser) and the export API's Atom answers (parsed by lxml), and
the arXiv id in any of their forms.

The export API's entries are Atom text constructs of plain text: a '<' in an abstract is the
character ("p < 0.05", "$y(u)<y(v)$"), never a tag. lxml reads a 1,000-entry page in a seventh of
the time feedparser took (bench/day.py); `xml_root` reads it, and the OAI-PMH answers of
digest.fetch.oai, with no DTD, no entities beyond XML's own and no network.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo

import lxml.etree as etree  # a module import: type checkers do not find the compiled etree in lxml

from digest.fetch.feedtypes import entries, feed_header, parse
from digest.fetch.result import SourceError
from digest.fetch.text import aimed_at_ai, clean_text
from digest.models import AnnounceType, Paper, arxiv_links

ARXIV_TZ = ZoneInfo("America/New_York")
# "arXiv:2604.21935v1 Announce Type: new \nAbstract: ..." (rss.arxiv.org item description)
_RSS_DESCRIPTION = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.S)
_ID_VERSION = re.compile(
    r"(?:arxiv\.org/abs/|oai:arXiv\.org:|^)([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v(\d+))?$"
)
# The export API's namespaces (arXiv API user manual, "Structure of the API response").
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# No DTDs, no entities, no network: a hostile answer cannot expand or read files.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class ArxivError(SourceError):
    """An arXiv response that is not a usable feed (error entry, HTML page, parse failure)."""


class Announcement(NamedTuple):
    """One announcement feed: the mailing's date in arXiv's time zone (None when the feed gives
    none) and its papers."""

    date: dt.date | None
    papers: list[Paper]


class ApiPage(NamedTuple):
    """One export-API answer: its papers, and how many papers the query matches in all
    (opensearch:totalResults; None when the answer does not say)."""

    papers: list[Paper]
    total: int | None


def xml_root(body: bytes, tag: str, error: type[SourceError], what: str) -> etree._Element:
    """The root element of an XML answer of arXiv's (`what`, for the message), which must be `tag`
    ("{namespace}name"); raises `error` when the body is not XML or its root is another element."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise error(f"{what}: not XML ({exc})") from exc
    if root.tag != tag:
        raise error(f"{what}: not the expected answer (root element {root.tag})")
    return root


def split_id(raw: str) -> tuple[str, int]:
    """'https://arxiv.org/abs/2604.21935v2' -> ('2604.21935', 2); old-style ids keep their slash.

    Raises ArxivError when `raw` holds no arXiv id.
    """
    m = _ID_VERSION.search(raw.strip())
    if not m:
        raise ArxivError(f"no arXiv id in {raw!r}")
    return m.group(1), int(m.group(2) or 1)


def _paper(raw_id: str, title: str, published: dt.datetime | None, scanned: str, **fields) -> Paper:
    """A Paper with arXiv id `raw_id` (version included) and its plain-text `title`: the fields every
    arXiv listing gives the same way, and the listing's own `fields`. `scanned` is the listing's title
    and abstract as it sent them, looked through for instructions addressed to an AI."""
    arxiv_id, version = split_id(raw_id)
    links = arxiv_links(arxiv_id)
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        published=published,
        instructions_for_ai=aimed_at_ai(scanned),
        abs_url=links["abs_url"],
        pdf_url=links["pdf_url"],
        **fields,
    )


def _when(struct: time.struct_time | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.UTC) if struct else None


def parse_rss(body: bytes) -> Announcement:
    """Parse one rss.arxiv.org category feed.

    Raises ArxivError when the body is not a feed (an empty body or an HTML page is a failure,
    never an empty day).
    """
    parsed = parse(body)
    if not parsed.get("version"):
        raise ArxivError(f"arXiv announcement feed: not a feed ({parsed.get('bozo_exception') or 'unknown format'})")
    when = _when(feed_header(parsed).get("published_parsed"))
    announced = when.astimezone(ARXIV_TZ).date() if when else None
    papers = []
    for entry in entries(parsed):
        tags = [term for t in entry.get("tags", []) if (term := t.get("term"))]
        title, summary = entry.get("title", ""), entry.get("summary", "")
        papers.append(
            _paper(
                entry.get("id") or entry.get("link", ""),
                clean_text(title),
                _when(entry.get("published_parsed")),
                f"{title} {summary}",
                # dc:creator is one comma-separated field; its markup goes before it is split
                authors=[a.strip() for a in clean_text(entry.get("author", "")).split(",") if a.strip()],
                summary=clean_text(_RSS_DESCRIPTION.sub("", summary)),
                categories=tags,
                primary_category=tags[0] if tags else "",
                # the feed's text; Paper's validation rejects any but the four announce types
                announce_type=cast(AnnounceType, entry.get("arxiv_announce_type", "new").strip()),
            )
        )
    return Announcement(announced, papers)


def parse_api(body: bytes) -> list[Paper]:
    """The papers of an export-API Atom response; raises ArxivError as `parse_api_page` does."""
    return parse_api_page(body).papers


def parse_api_page(body: bytes) -> ApiPage:
    """Parse an export-API Atom response: its papers, in the answer's order, and the query's totalResults.

    Raises ArxivError for the API's error feed (one entry titled "Error" whose id contains
    /api/errors#), for a totalResults that is not a count, and for bodies that are not an Atom feed
    (not XML, an HTML page, an empty body).
    """
    root = xml_root(body, f"{ATOM}feed", ArxivError, "arXiv API response")
    papers = [_api_paper(entry) for entry in root.iterchildren(f"{ATOM}entry")]
    return ApiPage(papers, _total(root.findtext(f"{OPENSEARCH}totalResults")))


def _text(element: etree._Element, tag: str) -> str:
    """The plain text of `element`'s child `tag` on one line ("" when it has none)."""
    return clean_text(element.findtext(tag) or "", html_markup=False)


def _api_paper(entry: etree._Element) -> Paper:
    """The Paper of one export-API entry; raises ArxivError for the API's error entry."""
    raw_id, title, summary = (entry.findtext(f"{ATOM}{tag}") or "" for tag in ("id", "title", "summary"))
    if title == "Error" and "/api/errors" in raw_id:
        raise ArxivError(f"arXiv API error: {clean_text(summary, html_markup=False)}")
    primary = entry.find(f"{ARXIV}primary_category")
    _, version = split_id(raw_id)
    return _paper(
        raw_id,
        clean_text(title, html_markup=False),
        _timestamp(entry.findtext(f"{ATOM}published")),
        f"{title} {summary}",
        # A name holds no '<' of its own: markup in one is a hostile answer's, dropped as a feed's is.
        authors=[
            name for a in entry.iterchildren(f"{ATOM}author") if (name := clean_text(a.findtext(f"{ATOM}name") or ""))
        ],
        summary=clean_text(summary, html_markup=False),
        categories=[term for c in entry.iterchildren(f"{ATOM}category") if (term := c.get("term"))],
        primary_category=(primary.get("term") or "") if primary is not None else "",
        announce_type="new" if version == 1 else "replace",
        updated=_timestamp(entry.findtext(f"{ATOM}updated")),
        comment=_text(entry, f"{ARXIV}comment") or None,
        journal_ref=_text(entry, f"{ARXIV}journal_ref") or None,
        doi=_text(entry, f"{ARXIV}doi") or None,
    )


def _timestamp(raw: str | None) -> dt.datetime | None:
    """An Atom date (RFC 3339, "2026-04-29T17:59:58Z") in UTC; None when missing or not a date."""
    try:
        return dt.datetime.fromisoformat(raw.strip()).astimezone(dt.UTC) if raw else None
    except ValueError:
        return None


def _total(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise ArxivError(f"arXiv API response: totalResults {raw!r} is not a count")
    return int(raw)
