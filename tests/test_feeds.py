"""News feeds on real recorded responses: articles, the date window, failures, text cleaning."""

import datetime as dt

import pytest
from conftest import DATA, DEMO_SNAPSHOT

from digest.config import FeedConfig, NewsConfig
from digest.fetch.feeds import FeedError, fetch_news, in_window, parse_feed
from digest.fetch.sources import ReplaySource
from digest.fetch.store import RawResponse, SnapshotStore
from digest.fetch.text import clean_text

NOW = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)


def test_rss_items_become_articles():
    feed = FeedConfig(name="Hacker News", url="https://news.ycombinator.com/rss", kind="comment")
    articles = parse_feed((DATA / "feedjira_hackernews_RSSWithComments.xml").read_bytes(), feed, NOW)
    assert len(articles) == 30
    assert all(a.kind == "comment" and a.source == "Hacker News" for a in articles)
    assert any("Dall-E 2" in a.title for a in articles)
    assert len({a.id for a in articles}) == 30


def test_large_real_feed_summaries_are_plain_text_and_capped():
    feed = FeedConfig(name="TIME Tech", url="https://time.com/tech/feed/", kind="news")
    articles = parse_feed((DATA / "kagi_time_tech.rss").read_bytes(), feed, NOW)
    assert len(articles) == 100
    assert all("<" not in a.summary and len(a.summary) <= 600 for a in articles)


HIDDEN = (
    '<span hidden>SECRET1</span> <span aria-hidden="true">SECRET2</span> <span style="display:none">SECRET3</span> '
    "<template>SECRET4</template> <script>SECRET5</script>"
)


def test_text_a_browser_would_hide_never_reaches_a_summary():
    body = (DATA / "kagi_time_tech.rss").read_text(encoding="utf-8")
    first = "<description><![CDATA[The Spanish government called for"
    assert first in body
    feed = FeedConfig(name="TIME Tech", url="https://time.com/tech/feed/", kind="news")
    articles = parse_feed(
        body.replace(first, f"<description><![CDATA[{HIDDEN} The Spanish government called for", 1).encode(), feed, NOW
    )
    [article] = [a for a in articles if "Spanish government" in a.summary]
    assert article.summary.startswith("The Spanish government called for prosecutors")
    assert "SECRET" not in article.summary


def test_window_keeps_recent_items_newest_first():
    body = SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30)).load("feed-Anthropic News").body
    feed = FeedConfig(name="Anthropic News", url="https://example.org/feed", kind="news")
    articles = parse_feed(body, feed, NOW)
    kept = in_window(articles, dt.date(2026, 4, 30), days=7, limit=50)
    assert [a.published.date() for a in kept] == sorted((a.published.date() for a in kept), reverse=True)
    assert kept and all(dt.date(2026, 4, 24) <= a.published.date() <= dt.date(2026, 4, 30) for a in kept)
    assert len(in_window(articles, dt.date(2026, 4, 30), days=7, limit=2)) == 2


@pytest.mark.parametrize("body", [b"", b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"])
def test_a_page_that_is_not_a_feed_is_a_failure(body):
    with pytest.raises(FeedError):
        parse_feed(body, FeedConfig(name="x", url="https://example.org", kind="news"), NOW)


def test_fetch_news_reports_each_feed(tmp_path):
    day = dt.date(2026, 4, 30)
    store = SnapshotStore(tmp_path, day)
    store.save(SnapshotStore(DEMO_SNAPSHOT, day).load("feed-OpenAI News"))
    store.save(RawResponse(name="feed-Broken", url="https://broken.example", fetched_at=NOW, error="HTTP 503"))
    cfg = NewsConfig(
        window_days=14,
        feeds=[
            FeedConfig(name="OpenAI News", url="https://openai.com/news/rss.xml", kind="news"),
            FeedConfig(name="Broken", url="https://broken.example", kind="news"),
            FeedConfig(name="Missing", url="https://missing.example", kind="comment"),
        ],
    )
    articles, statuses = fetch_news(cfg, day, ReplaySource(store))
    assert [(s.source, s.state) for s in statuses] == [
        ("OpenAI News", "ok"),
        ("Broken", "failed"),
        ("Missing", "failed"),
    ]
    assert statuses[1].reason == "HTTP 503" and [s.failed for s in statuses] == [False, True, True]
    assert len(articles) == 3


def test_clean_text_drops_markup_scripts_and_controls():
    raw = "<p>Hello&nbsp;<b>world</b></p><script>alert(1)</script>\x00\x0c tail"
    assert clean_text(raw) == "Hello world tail"
    assert clean_text("a " * 500, max_chars=20).endswith("…")


def test_feed_strings_lose_c1_controls_and_bidirectional_overrides():
    """A real feed with a title that would show reversed (CVE-2021-42574's trick) keeps its words in
    stored order without the overrides; C1 controls go too (feedparser already maps them as cp1252)."""
    feed = FeedConfig(name="Hacker News", url="https://news.ycombinator.com/rss", kind="comment")
    body = (DATA / "feedjira_hackernews_RSSWithComments.xml").read_bytes()
    first = min((a.title for a in parse_feed(body, feed, NOW)), key=len)
    tampered = body.replace(first.encode(), f"\u202e{first}\u202c \u2066end\u2069".encode(), 1)
    titles = [a.title for a in parse_feed(tampered, feed, NOW)]
    assert f"{first} end" in titles
    assert not any(c in "".join(titles) for c in "\u202e\u202c\x85\u2066\u2069")
    assert clean_text("price\u0085 list \u200fkept") == "price list \u200fkept"  # a bare direction mark is text
