"""Reddit's recorded feeds (RSS 2.0 of 2015, Atom of 2016, today's Atom): a link post links the page
it shares and keeps its thread as `comments`, so it becomes the discussion of the story at that page."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import DATA

from digest.config import FeedConfig
from digest.fetch.feeds import linked_page, parse_feed
from digest.models import Article
from digest.select.stories import as_article, merge_stories

FETCHED = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
FEEDMAIL_THREAD = "https://www.reddit.com/r/kevincox/comments/qksbf1/announcing_feedmail/"


def feed(name: str, kind: str = "comment") -> list[Article]:
    config = FeedConfig(name="Reddit", url=f"https://{name}.example", kind=kind)  # type: ignore[arg-type]
    return parse_feed((DATA / name).read_bytes(), config, FETCHED)


@pytest.mark.parametrize(
    ("name", "link_posts"),
    [("rssparser_reddit.rss", 18), ("rssparser_reddit-home.rss", 17), ("feedrs_rss_2.0_reddit.xml", 1)],
)
def test_link_posts_link_the_shared_page_and_keep_the_thread(name, link_posts):
    articles = feed(name)
    shared = [a for a in articles if a.comments]
    assert len(shared) == link_posts
    for article in shared:
        assert "reddit.com" not in article.link and "/comments/" in (article.comments or "")
    threads = [a for a in articles if not a.comments]  # self posts: their link is their thread
    assert all("reddit.com/r/" in a.link and "/comments/" in a.link for a in threads)


def test_a_link_post_of_todays_atom_feed():
    [post] = feed("feedrs_rss_2.0_reddit.xml")
    assert post.link == "https://kevincox.ca/2021/11/01/announcing-feedmail/"
    assert post.comments == FEEDMAIL_THREAD


@pytest.mark.parametrize("name", ["feedrs_atom_example_reddit.xml", "feedrs_atom_mediarss_reddit_1.xml"])
def test_self_posts_and_crossposts_stay_their_thread(name):
    # The r/homelab feed holds a crosspost whose [link] is another thread, as a relative URL.
    articles = feed(name)
    assert articles and all(a.comments is None and "/comments/" in a.link for a in articles)


def test_a_news_feed_keeps_the_items_own_link():
    assert [a.link for a in feed("feedrs_rss_2.0_reddit.xml", kind="news")] == [FEEDMAIL_THREAD]


def test_a_link_post_becomes_the_discussion_of_the_story_it_shares():
    [post] = feed("feedrs_rss_2.0_reddit.xml")
    news = Article(
        id="feedmail",
        source="kevincox.ca",
        kind="news",
        title="Announcing FeedMail",
        link="https://kevincox.ca/2021/11/01/announcing-feedmail?utm_source=rss",
        published=post.published,
    )
    [story] = merge_stories([post, news])
    assert story.articles == [news] and story.discussion == post
    discussion = as_article(story).discussion
    assert discussion is not None and discussion.link == FEEDMAIL_THREAD


@pytest.mark.parametrize(
    "markup", ["", "no anchor", '<a href="javascript:alert(1)">[link]</a>', "<a>[link]</a>", "[link] as text only"]
)
def test_content_without_a_web_link_anchor_shares_no_page(markup):
    assert linked_page(markup, FEEDMAIL_THREAD) is None
