"""News and commentary feeds (RSS 2.0, RSS 1.0, Atom) into Article, via feedparser.

A 200 that is not a feed is a failure, a valid feed with no items is empty. Only items published
in the configured window before the digest date are kept, newest first, at most
`max_per_feed` per feed; undated items count as fetched now.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor

import feedparser

from digest.config import FeedConfig, NewsConfig
from digest.fetch.sources import Source
from digest.fetch.text import aimed_at_ai, clean_text
from digest.models import Article, SourceStatus

FEED_WORKERS = 8
SUMMARY_CHARS = 600
TITLE_CHARS = 300


class FeedError(Exception):
    """The body is not an RSS/Atom feed."""


def parse_feed(body: bytes, feed: FeedConfig, fetched_at: dt.datetime) -> list[Article]:
    """All items of one feed as Articles (no date filtering).

    Raises FeedError when feedparser finds no feed format in `body`.
    """
    parsed = feedparser.parse(body)
    if not parsed.get("version"):
        raise FeedError(f"not a feed ({parsed.get('bozo_exception') or 'unknown format'})")
    articles = []
    for entry in parsed.entries:
        link = entry.get("link", "").strip()
        if not link.lower().startswith(("http://", "https://")):
            link = ""  # kept without a link: javascript:, data:, relative and other non-web links
        title_is_html = entry.get("title_detail", {}).get("type", "text/html") != "text/plain"
        title = clean_text(entry.get("title", ""), TITLE_CHARS, html_markup=title_is_html)
        if not title:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = dt.datetime.fromtimestamp(calendar.timegm(stamp), dt.timezone.utc) if stamp else fetched_at
        articles.append(Article(
            id=hashlib.sha256(f"{feed.name}\n{entry.get('id') or link or title}".encode()).hexdigest()[:16],
            source=feed.name,
            kind=feed.kind,
            title=title,
            link=link,
            published=min(published, fetched_at),  # a future date is a feed error, not news
            summary=clean_text(entry.get("summary", ""), SUMMARY_CHARS),
            instructions_for_ai=aimed_at_ai(entry.get("title", "") + " " + entry.get("summary", "")),
        ))
    return articles


def in_window(articles: list[Article], date: dt.date, days: int, limit: int) -> list[Article]:
    """The newest `limit` articles published within `days` days up to the end of `date` (UTC)."""
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    start = end - dt.timedelta(days=days)
    kept = [a for a in articles if a.published and start <= a.published < end]
    return sorted(kept, key=lambda a: a.published, reverse=True)[:limit]


def _one_feed(feed: FeedConfig, cfg: NewsConfig, date: dt.date, source: Source) -> tuple[list[Article], SourceStatus]:
    resp = source.get(f"feed-{feed.name}", feed.url)
    if resp.error:
        return [], SourceStatus(source=feed.name, url=feed.url, state="failed", reason=resp.error)
    try:
        items = in_window(parse_feed(resp.body, feed, resp.fetched_at), date, cfg.window_days, cfg.max_per_feed)
    except FeedError as exc:
        return [], SourceStatus(source=feed.name, url=feed.url, state="failed", reason=str(exc))
    return items, SourceStatus(source=feed.name, url=feed.url, state="ok" if items else "empty", items=len(items))


def fetch_news(cfg: NewsConfig, date: dt.date, source: Source) -> tuple[list[Article], list[SourceStatus]]:
    """Articles of every configured feed for `date`, and one status per feed (in config order).

    Feeds are fetched in parallel (FEED_WORKERS at a time), so the slowest feed sets the time.
    """
    with ThreadPoolExecutor(max_workers=FEED_WORKERS) as pool:
        results = list(pool.map(lambda feed: _one_feed(feed, cfg, date, source), cfg.feeds))
    articles = [a for items, _ in results for a in items]
    statuses = [status for _, status in results]
    articles.sort(key=lambda a: a.published, reverse=True)
    return articles[: cfg.max_articles], statuses
