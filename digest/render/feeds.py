"""The site's Atom feeds (RFC 4287, via feedgen): `feed.xml`, one entry per day, and `papers.xml`, one
entry per paper written up in the newest days; a "For you" feed is render_paper_feed over the
reader's papers, each PaperEntry with its `why`.

Every feed is valid for the W3C Feed Validator (github.com/w3c/feedvalidator) and parses in
feedparser without a bozo flag: the feed has an author (RFC 4287 4.1.1: on the feed or on every
entry), ids are absolute IRIs (RFC 4287 4.2.6), and text is plain text (`type="text"`), so no HTML
tag a model wrote reaches a reader and the validator sees none (its ContainsUndeclaredHTML).

Ids and links. With the site's public URL (`site.url`) every id and link is absolute under it: the
feed's id is the page it stands for, an entry's id its page's URL, and the feed links itself with
rel="self". Without one, an id is a name-based UUID (RFC 4122 4.3, `urn:uuid:`) of that page's path in
the site, the same at every rebuild; links are relative to the feed, so they still resolve where
the feed is served; and the feed has no self link, since a relative one cannot say where the feed
lives (the validator's RelativeSelf): the validator then recommends one (MissingSelf, a warning).

Times. An entry's published and updated times are those of the feed as published when it has the
entry (same id) and the entry says what it said there (title, summary, links, categories): a day
rebuilt for its news leaves the entries of its unchanged papers as they were, and a reader sees
nothing new. Otherwise both are the day's generated_at (a changed entry keeps its first published
time). The feed's updated is its newest entry's (RFC 4287 4.2.15), never the clock, so the same days
and the same published feed give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import nh3
from feedgen.feed import FeedGenerator

from digest.models import Digest, PaperWriteup
from digest.render.html import paper_page
from digest.render.site import ArchiveDay

SITE_TITLE = "PaperBot Daily Digest"
FEED_ENTRIES = 30  # the newest days in feed.xml
PAPER_FEED_DAYS = 7  # papers.xml holds the papers of the newest 7 days of the archive: a week of mailings
PAPER_FEED_ENTRIES = 200  # and at most 200: five mailings of 40 papers; of a larger papers.max, the newest
ARXIV_SCHEME = "http://arxiv.org/schemas/atom"  # the scheme of arXiv's own Atom categories (its API's feed)
# The namespace of the name-based UUIDs of a site without a URL (RFC 4122 4.3: any UUID may name one).
# Chosen at random once; never change it, or every such id changes and readers see every entry as new.
ID_NAMESPACE = uuid.UUID("1c0c749c-ec30-4553-af4a-0c84391aa8f9")
_ATOM = "{http://www.w3.org/2005/Atom}"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class FeedInfo:
    """One feed of the site: its file name at the top of the site (`path`), title and subtitle, and
    the path of what its id names (`names`: the feed itself, unless it stands for a page)."""

    path: str
    title: str
    subtitle: str
    names: str | None = None

    @property
    def id_path(self) -> str:
        """The path in the site whose URL (or urn:uuid) is the feed's id."""
        return self.path if self.names is None else self.names


# feed.xml's id has named the site itself (its archive page) since the first feed: publish.feed_base
# reads the site's URL back from it.
DAY_FEED = FeedInfo("feed.xml", SITE_TITLE, "New arXiv papers and AI news, every day", names="")
PAPER_FEED = FeedInfo("papers.xml", f"{SITE_TITLE}: papers", "Every paper written up, in plain language")
FOR_YOU_FEED = FeedInfo("for-you.xml", f"{SITE_TITLE}: for you", "The papers closest to your reader profile, and why")


@dataclass(frozen=True)
class PaperEntry:
    """What a paper feed shows of one paper written up (PaperEntry.of); the archive index keeps the
    entries of every day."""

    date: dt.date  # the day that wrote it up: the entry links its page there
    arxiv_id: str
    title: str
    summary: str  # the plain-language summary, or the abstract when the summary is not "ok"
    categories: tuple[str, ...]  # arXiv categories, the primary one first
    generated_at: dt.datetime  # the day's: the entry's time, unless the published feed keeps an older one
    why: str = ""  # why the reader's profile chose it (for-you.xml shows it); "" without a profile

    @classmethod
    def of(cls, digest: Digest, writeup: PaperWriteup) -> PaperEntry:
        """The entry of `writeup`, one of `digest`'s papers. The summary is shown only when its checks
        passed ("ok"): a feed reader cannot show an "unverified" mark, so otherwise the abstract is."""
        paper, summary = writeup.paper, writeup.summary.content
        text = summary.summary if writeup.summary.status == "ok" and summary else f"arXiv abstract: {paper.summary}"
        primary = [paper.primary_category] if paper.primary_category else []
        categories = tuple(dict.fromkeys(primary + paper.categories))  # once each, the primary first
        why = writeup.relevance.why if writeup.relevance else ""
        return cls(digest.date, paper.arxiv_id, paper.title, text, categories, digest.generated_at, why)


def paper_entries(digest: Digest) -> list[PaperEntry]:
    """The paper feed's entries of `digest`: one per paper written up, in page order."""
    return [PaperEntry.of(digest, w) for w in digest.papers]


class Said(NamedTuple):
    """What an entry says, as its XML has it: what a change of moves its updated time."""

    title: str
    summary: str
    links: tuple[str, ...]
    categories: tuple[str, ...]


class Stamped(NamedTuple):
    """An entry as a published feed has it: its times and what it says (Said)."""

    published: dt.datetime
    updated: dt.datetime
    said: Said


@dataclass(frozen=True)
class _Entry:
    """One entry about to be written: its id, what it says, and the time of its content."""

    id: str
    said: Said
    generated_at: dt.datetime


def published_entries(path: Path) -> dict[str, Stamped]:
    """Entry id -> Stamped, of the feed published at `path`; {} when there is none or it cannot be
    read (then every entry takes its day's time). Our own file: parsed by the standard library."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    found = {}
    for entry in root.iter(f"{_ATOM}entry"):
        said = Said(
            title=entry.findtext(f"{_ATOM}title", ""),
            summary=entry.findtext(f"{_ATOM}summary", ""),
            links=tuple(link.get("href", "") for link in entry.iter(f"{_ATOM}link")),
            categories=tuple(c.get("term", "") for c in entry.iter(f"{_ATOM}category")),
        )
        try:
            times = [dt.datetime.fromisoformat(entry.findtext(f"{_ATOM}{t}", "")) for t in ("published", "updated")]
        except ValueError:
            continue
        found[entry.findtext(f"{_ATOM}id", "")] = Stamped(times[0], times[1], said)
    return found


def plain_text(markdown: str) -> str:
    """`markdown` (model or feed text) as an Atom text construct's plain text: every HTML tag dropped,
    with the content of <script> and <style> (nh3), entities decoded; Markdown itself is left as it
    reads."""
    return html.unescape(nh3.clean(markdown, tags=set())).strip()


class Site(NamedTuple):
    """Where the feed's ids and links point: `root`, the site's URL ending in "/", or "" (no URL)."""

    root: str

    @classmethod
    def of(cls, site_url: str | None) -> Site:
        """The site of `site_url` (None or "": a site without a URL)."""
        base = (site_url or "").rstrip("/")
        return cls(f"{base}/" if base else "")

    def id(self, path: str) -> str:
        """The id of the page at `path` in the site ("" for its top): its URL, or a urn:uuid of `path`."""
        return f"{self.root}{path}" if self.root else f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, path)}"

    def link(self, path: str) -> str:
        """The link to `path` in the site: absolute under the URL, or relative to the feed."""
        return f"{self.root}{path}" if self.root or path else "./"


def render_feed(
    days: Sequence[ArchiveDay], site_url: str | None, published: Mapping[str, Stamped] | None = None
) -> str:
    """feed.xml: one entry per day of `days` (ArchiveDay records, newest first; the first FEED_ENTRIES
    are kept), titled with the date, its summary the Today in AI overview or else the day's counts
    (ArchiveDay.summary), linking the day's page. `published`: the entries of the feed as published
    (published_entries), whose times unchanged entries keep."""
    site = Site.of(site_url)
    entries = [
        _Entry(
            id=site.id(f"{d.date.isoformat()}/"),
            said=Said(f"{SITE_TITLE} — {d.date.isoformat()}", plain_text(d.summary), (site.link(f"{d.date}/"),), ()),
            generated_at=d.generated_at,
        )
        for d in days[:FEED_ENTRIES]
    ]
    return _atom(DAY_FEED, site, entries, published or {})


def render_paper_feed(
    entries: Sequence[PaperEntry],
    site_url: str | None,
    feed: FeedInfo = PAPER_FEED,
    published: Mapping[str, Stamped] | None = None,
) -> str:
    """A paper feed (`feed`: papers.xml, or another list of write-ups such as the reader's): one entry
    per PaperEntry of `entries` (newest first, all of them: the caller chooses), titled with the
    paper's title, its summary the entry's (after "Why: <why>", when it has one), its arXiv
    categories as Atom categories (arXiv's scheme), linking the paper's page on its day. `published`:
    as for render_feed."""
    site = Site.of(site_url)
    written = []
    for e in entries:
        page = f"{e.date.isoformat()}/{paper_page(e.arxiv_id)}"
        summary = plain_text(f"Why: {e.why}\n\n{e.summary}" if e.why else e.summary)
        said = Said(plain_text(e.title), summary, (site.link(page),), e.categories)
        written.append(_Entry(site.id(page), said, e.generated_at))
    return _atom(feed, site, written, published or {})


def _atom(feed: FeedInfo, site: Site, entries: Iterable[_Entry], published: Mapping[str, Stamped]) -> str:
    """The Atom document of `feed` with `entries` in order; its alternate is the site's archive page."""
    fg = FeedGenerator()
    fg.id(site.id(feed.id_path))
    fg.title(feed.title)
    fg.subtitle(feed.subtitle)
    fg.author({"name": SITE_TITLE, **({"uri": site.root} if site.root else {})})
    if site.root:  # a relative self link cannot say where the feed lives; none is better (module docstring)
        fg.link(href=site.link(feed.path), rel="self", type="application/atom+xml")
    fg.link(href=site.link(""), rel="alternate", type="text/html")
    fg.language("en")
    newest = _EPOCH
    for e in entries:
        kept = published.get(e.id)
        first = kept.published if kept else e.generated_at
        updated = kept.updated if kept and kept.said == e.said else e.generated_at
        newest = max(newest, updated)
        entry = fg.add_entry(order="append")
        entry.id(e.id)
        entry.title(e.said.title)
        for href in e.said.links:
            entry.link(href=href, rel="alternate", type="text/html")
        for term in e.said.categories:
            entry.category(term=term, scheme=ARXIV_SCHEME)
        entry.published(first)
        entry.updated(updated)
        entry.summary(e.said.summary)
    fg.updated(newest)
    return fg.atom_str(pretty=True).decode("utf-8")
