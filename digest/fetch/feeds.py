"""News and commentary feeds (RSS 2.0, RSS 1.0, Atom) into Article, via feedparser.

A 200 that is not a feed is a failure, a valid feed with no items is empty. Only items published
in the configured window before the digest date are kept, newest first, at most `max_per_feed` per
feed; undated items count as fetched now. The same event from several feeds is merged into one
story later (digest.select.stories), so every source is kept here. A Reddit link post of a comment
feed links the page it shares, with its thread as `comments` (`linked_page`), so that it becomes the
discussion of the story at that page.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import hashlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor

import feedparser
import lxml.etree as etree  # a module import: type checkers do not find the compiled etree in lxml
import lxml.html

from digest.config import FeedConfig, NewsConfig
from digest.fetch.feedtypes import entries, parse
from digest.fetch.result import SourceError, SourceResult, fetch_source
from digest.fetch.sources import Source
from digest.fetch.store import RawResponse
from digest.fetch.text import aimed_at_ai, clean_text
from digest.models import Article, SourceStatus

log = logging.getLogger(__name__)
FEED_WORKERS = 16
SUMMARY_CHARS = 600
TITLE_CHARS = 300
# Every article read here is dated (an undated item counts as fetched now); the model allows none,
# which would sort as the oldest.
_UNDATED = dt.datetime.min.replace(tzinfo=dt.UTC)


class FeedError(SourceError):
    """The body is not an RSS/Atom feed."""


# A DOCTYPE's internal subset declares entities: the way to billion-laughs and external-entity
# attacks, and never needed by a real feed. It is cut before parsing, so its entities stay literal.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE([^\[>]{0,500})\[.*?\]\s*>", re.S | re.I)
_LINK_ANCHOR = etree.XPath("//a[normalize-space(.)='[link]']/@href")


# The source's check and parse_feed read the same body right after each other: parse it once.
# One slot per worker; fetch_news empties the cache when it is done.
@functools.lru_cache(maxsize=16)
def _parse(body: bytes) -> feedparser.FeedParserDict:
    return parse(_INTERNAL_SUBSET.sub(rb"<!DOCTYPE\1>", body, count=1))


def parse_feed(body: bytes, feed: FeedConfig, fetched_at: dt.datetime) -> list[Article]:
    """All items of one feed as Articles (no date filtering).

    Raises FeedError when feedparser finds no feed format in `body`.
    """
    parsed = _parse(body)
    if not parsed.get("version"):
        raise FeedError(f"not a feed ({parsed.get('bozo_exception') or 'unknown format'})")
    # Ill-formed but readable: used, and said (a corrected charset declaration is routine, not news).
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
        log.warning("feed %s is not well-formed XML, read leniently: %s", feed.name, parsed.get("bozo_exception"))
    articles = []
    for entry in entries(parsed):
        thread = _web_link(entry.get("link", "")) or ""  # kept without a link when it is none
        title_is_html = entry.get("title_detail", {}).get("type", "text/html") != "text/plain"
        title = clean_text(entry.get("title", ""), TITLE_CHARS, html_markup=title_is_html)
        if not title:
            continue
        page = linked_page(entry.get("summary", ""), thread) if feed.kind == "comment" else None
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = dt.datetime.fromtimestamp(calendar.timegm(stamp), dt.UTC) if stamp else fetched_at
        articles.append(
            Article(
                id=hashlib.sha256(f"{feed.name}\n{entry.get('id') or thread or title}".encode()).hexdigest()[:16],
                source=feed.name,
                kind=feed.kind,
                title=title,
                link=page or thread,
                published=min(published, fetched_at),  # a future date is a feed error, not news
                summary=clean_text(entry.get("summary", ""), SUMMARY_CHARS),
                instructions_for_ai=aimed_at_ai(entry.get("title", "") + " " + entry.get("summary", "")),
                comments=(thread or None) if page else _web_link(entry.get("comments", "")),
            )
        )
    return articles


def linked_page(markup: str, thread: str) -> str | None:
    """The page a Reddit link post links to: the web URL of the `[link]` anchor in the item's content
    `markup`, when it is not the item's `thread` itself (a self post's anchor is); None without one.

    Reddit's feeds (RSS 2.0 and Atom) give the comment thread as an item's link and the linked page only
    there, so the item can be the discussion of the story at that page.
    """
    if "[link]" not in markup:  # most items of most feeds: no parse
        return None
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent=True)
    except (etree.ParserError, ValueError):
        return None
    hrefs = _LINK_ANCHOR(root)
    page = _web_link(hrefs[0]) if hrefs else None
    return page if page != thread else None


def _web_link(url: object) -> str | None:
    """`url` when it is an http(s) URL; None for javascript:, data:, relative and other non-web links."""
    url = url.strip() if isinstance(url, str) else ""
    return url if url.lower().startswith(("http://", "https://")) else None


def in_window(articles: list[Article], date: dt.date, days: int, limit: int) -> list[Article]:
    """The newest `limit` articles published within `days` days up to the end of `date` (UTC)."""
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC)
    start = end - dt.timedelta(days=days)
    kept = [a for a in articles if a.published and start <= a.published < end]
    return sorted(kept, key=_published, reverse=True)[:limit]


def _published(article: Article) -> dt.datetime:
    """The sort key of newest-first order."""
    return article.published or _UNDATED


def feed_problem(body: bytes) -> str | None:
    """None when `body` parses as an RSS/Atom feed, else why not (a Source `check`)."""
    parsed = _parse(body)
    return None if parsed.get("version") else f"not a feed ({parsed.get('bozo_exception') or 'unknown format'})"


def _one_feed(feed: FeedConfig, cfg: NewsConfig, date: dt.date, source: Source) -> SourceResult[list[Article]]:
    """The feed's articles in the window; a body the check let through can still fail to parse
    (a snapshot stored before bodies were checked)."""

    def parse(resp: RawResponse) -> list[Article]:
        return in_window(parse_feed(resp.body, feed, resp.fetched_at), date, cfg.window_days, cfg.max_per_feed)

    return fetch_source(
        source, feed.source_name, feed.url, parse, len, label=feed.name, check=feed_problem, explain=_gone
    )


def _gone(resp: RawResponse) -> str | None:
    """A feed's 410 means the feed itself is gone for good."""
    return f"{resp.error}; take the feed out of the config" if resp.status == 410 else resp.error


def fetch_news(
    cfg: NewsConfig, date: dt.date, source: Source, workers: int = FEED_WORKERS
) -> tuple[list[Article], list[SourceStatus]]:
    """Articles of every configured feed for `date`, and one status per feed (in config order).

    Feeds are fetched in parallel (`workers` at a time; the source limits requests per host), so
    with enough workers the slowest feed sets the time.
    """
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda feed: _one_feed(feed, cfg, date, source), cfg.feeds))
    finally:
        _parse.cache_clear()
    articles = [a for result in results for a in result.items or []]
    statuses = [result.status for result in results]
    articles.sort(key=_published, reverse=True)
    return articles, statuses
