"""Stories and topic clusters on real recorded feeds: canonical URLs, near-duplicate merging against
the hand-labelled groups of tests/data/story_groups.json, discussions from Hacker News, clustering."""

from __future__ import annotations

import datetime as dt
import random
import sys

import numpy as np
import pytest
from conftest import DATA, ROOT
from sklearn.cluster import AgglomerativeClustering

from digest.config import FeedConfig
from digest.fetch.feeds import in_window, parse_feed
from digest.models import Article
from digest.select import stories as stories_module
from digest.select.clusters import CATCH_ALL_SHARE, _labels, cluster_stories, keyword_title, story_text, topic_count
from digest.select.stories import (
    article_text,
    canonical_url,
    embed,
    embedder,
    forget_embeddings,
    merge_stories,
    text_similarities,
)

sys.path.insert(0, str(ROOT / "bench"))
from stories import Labelled, precision_recall, story_pairs  # noqa: E402

FETCHED = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
WORLD = ("kagi_nyt_world.rss", "kagi_ndtv_no_xml_decl.rss", "kagi_deutsche_welle_rss1.rdf", "kagi_time_tech.rss")


@pytest.fixture(scope="module")
def labelled() -> Labelled:
    return Labelled()


def feed(name: str, kind: str = "news") -> list[Article]:
    config = FeedConfig(name=name, url=f"https://{name}.example", kind=kind)  # type: ignore[arg-type]
    return parse_feed((DATA / name).read_bytes(), config, FETCHED)


def day_of_world_news() -> list[Article]:
    """The real 2026-02-16/17 of NYT World, NDTV, DW and TIME Tech (a two-day news window)."""
    return [a for name in WORLD for a in in_window(feed(name), dt.date(2026, 2, 17), days=2, limit=100)]


def report(title: str, source: str, hours: float, summary: str = "") -> Article:
    published = dt.datetime(2026, 2, 18, tzinfo=dt.UTC) + dt.timedelta(hours=hours)
    link = f"https://{source}.example/{abs(hash(title))}"
    return Article(id=link, source=source, kind="news", title=title, link=link, published=published, summary=summary)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (  # DW's own tracking parameter, scheme and www
            "https://www.dw.com/en/peru-ousts-interim-president-over-corruption-probe/a-76013641?maca=en-rss-en-all-1573-rdf",
            "http://dw.com/en/peru-ousts-interim-president-over-corruption-probe/a-76013641/",
        ),
        (  # Rest of World's utm_* parameters
            "https://restofworld.org/2026/ai-memory-chip-explainer/?utm_source=rss&utm_medium=rss&utm_campaign=feeds",
            "https://restofworld.org/2026/ai-memory-chip-explainer",
        ),
        (  # NDTV's fragment
            "https://www.ndtv.com/world-news/peru-president-jose-jeri-impeached-11051184#publisher=newsstand",
            "https://ndtv.com/world-news/peru-president-jose-jeri-impeached-11051184",
        ),
        ("https://m.bbc.co.uk/news/world-56195766", "https://www.bbc.co.uk/news/world-56195766"),
        ("https://www.bbc.co.uk/news/amp/world-56195766", "https://www.bbc.co.uk/news/world-56195766"),
        ("https://amp.theguardian.com/world/2026/feb/17/story", "https://www.theguardian.com/world/2026/feb/17/story"),
        ("https://www-example-com.cdn.ampproject.org/c/s/example.com/a/story.amp", "https://example.com/a/story"),
        ("https://example.com/a?b=2&a=1&fbclid=x&gclid=y", "https://example.com/a?a=1&b=2"),
    ],
)
def test_canonical_urls_of_one_page_are_equal(a, b):
    assert canonical_url(a) == canonical_url(b)


def test_canonical_url_keeps_what_names_the_page():
    assert canonical_url("https://news.ycombinator.com/item?id=30932095") != canonical_url(
        "https://news.ycombinator.com/item?id=30937433"
    )
    assert canonical_url("https://example.com/a/amplifier") != canonical_url("https://example.com/a")
    with pytest.raises(ValueError, match="not an absolute web URL"):
        canonical_url("/relative/path")


def test_merge_finds_the_labelled_duplicates_and_nothing_else(labelled):
    precision, recall = precision_recall(story_pairs(labelled), labelled)
    # Measured on the labelled corpus (bench/stories.py): precision 1.0, recall 12/13.
    assert precision >= 0.9
    assert recall >= 0.9


def test_a_title_only_release_joins_the_report_that_names_its_subject(labelled):
    release = next(a for a in labelled.articles if a.title == "Claude's new constitution")
    story = next(s for s in merge_stories(labelled.articles) if release in s.articles)
    assert set(story.sources) == {"kagi_time_tech.rss", "brevio_anthropic_news_feedgen.xml"}


def test_a_headline_of_fewer_than_three_terms_is_contained_in_nothing(labelled):
    time_report = next(a for a in labelled.articles if "Teach an AI to Be Good" in a.title)
    two, three = report("Claude constitution", "Press", 0), report("Claude constitution published", "Press", 0)
    articles = [*labelled.articles, two, three]
    contained = text_similarities(articles)[1]
    report_at = articles.index(time_report)
    assert contained[-2, report_at] == 0  # every term is in TIME's summary, but two terms are too few
    assert contained[-1, report_at] == pytest.approx(1.0)


def test_no_labelled_hard_negative_is_merged(labelled):
    assert not story_pairs(labelled) & labelled.hard_negatives


def test_one_event_worded_differently_merges_and_another_does_not():
    stories = merge_stories(
        [
            report(
                "Jesse Jackson dies aged 84",
                "BBC",
                0,
                "The US civil rights leader and two-time presidential candidate has died.",
            ),
            report(
                "Tributes pour in after civil rights icon Jesse Jackson dies",
                "Guardian",
                5,
                "Tributes paid to the civil rights leader Jesse Jackson, who has died at 84.",
            ),
            report("Robert Duvall dies aged 95", "DW", 2, "The actor who starred in The Godfather has died."),
        ]
    )
    assert sorted(s.sources for s in stories) == [["BBC", "Guardian"], ["DW"]]


def test_a_story_lists_every_source_lead_first(labelled):
    peru = next(s for s in merge_stories(labelled.articles) if "Peru" in s.lead.title and len(s.articles) > 1)
    assert set(peru.sources) == {"kagi_nyt_world.rss", "kagi_ndtv_no_xml_decl.rss", "kagi_deutsche_welle_rss1.rdf"}
    assert peru.lead.published == min(a.published for a in peru.articles if a.published)


def test_stories_do_not_depend_on_feed_order(labelled):
    shuffled = list(labelled.articles)
    random.Random(7).shuffle(shuffled)
    as_ids = lambda stories: [[a.id for a in s.articles] for s in stories]  # noqa: E731
    assert as_ids(merge_stories(shuffled)) == as_ids(merge_stories(labelled.articles))


def test_hacker_news_item_becomes_the_discussion_of_the_story_it_links():
    hn = feed("feedjira_hackernews_RSSWithComments.xml", kind="comment")
    dalle = next(a for a in hn if a.title == "Dall-E 2")
    news = Article(
        id="openai-dalle2",
        source="OpenAI News",
        kind="news",
        title="DALL·E 2",
        link="http://openai.com/dall-e-2?utm_source=rss",  # the same page as HN's https://openai.com/dall-e-2/
        published=dalle.published,
    )
    stories = merge_stories([*hn, news])
    story = next(s for s in stories if s.lead.id == news.id)
    assert story.articles == [news] and story.discussion == dalle
    assert all(dalle not in s.articles for s in stories)
    assert sum(len(s.articles) for s in stories) == len(hn)  # the other 29 items stay, one story each


def test_clusters_hold_every_story_once_within_the_day_bounds():
    stories = merge_stories(day_of_world_news())
    clusters = cluster_stories(stories)
    members = [s.lead.id for c in clusters for s in c.stories]
    assert sorted(members) == sorted(s.lead.id for s in stories)
    assert len(stories) >= 12 and 3 <= len([c for c in clusters if not c.catch_all]) <= 8
    catch_all = sum(len(c.stories) for c in clusters if c.catch_all)
    assert catch_all <= CATCH_ALL_SHARE * len(stories)


def test_clusters_are_distinct_by_title_and_keywords():
    clusters = cluster_stories(merge_stories(day_of_world_news()))
    titles = [keyword_title(c) for c in clusters]
    assert len(set(titles)) == len(titles)
    for a in clusters:
        for b in clusters:
            if a is not b:
                assert len(set(a.keywords) & set(b.keywords)) <= 1, (a.keywords, b.keywords)


@pytest.mark.parametrize("features", ["embedding", "tfidf"])
def test_clustering_does_not_depend_on_order(features):
    stories = merge_stories(day_of_world_news())
    shuffled = list(stories)
    random.Random(3).shuffle(shuffled)
    as_ids = lambda clusters: [[s.lead.id for s in c.stories] for c in clusters]  # noqa: E731
    assert as_ids(cluster_stories(shuffled, features)) == as_ids(cluster_stories(stories, features))


def test_catch_all_takes_the_stories_that_fit_no_topic_up_to_its_cap():
    stories = merge_stories(day_of_world_news())
    clusters = cluster_stories(stories, "tfidf")
    assert all(len(c.stories) >= 2 for c in clusters if not c.catch_all)
    assert sum(len(c.stories) for c in clusters if c.catch_all) <= CATCH_ALL_SHARE * len(stories)


@pytest.mark.parametrize(("stories", "topics"), [(1, 1), (5, 1), (8, 2), (12, 3), (30, 5), (48, 8), (2000, 8)])
def test_topic_count_follows_the_day(stories, topics):
    assert topic_count(stories) == topics


def test_small_days():
    assert cluster_stories([]) == []
    few = merge_stories(day_of_world_news()[:3])
    assert [len(c.stories) for c in cluster_stories(few)] == [len(few)]


def test_keyword_title_is_readable():
    clusters = cluster_stories(merge_stories(day_of_world_news()))
    olympics = next(c for c in clusters if "olympics" in c.keywords)
    title = keyword_title(olympics)
    assert " and " in title and title[0].isupper() and title.count(",") <= 1


@pytest.fixture
def model_calls(monkeypatch) -> list[str]:
    """The texts given to the WordLlama model to embed, from an empty embedding cache on."""
    seen, real = [], stories_module._pooled

    def counting(texts):
        seen.extend(texts)
        return real(texts)

    monkeypatch.setattr(stories_module, "_pooled", counting)
    forget_embeddings()
    return seen


def test_merging_and_clustering_embed_each_text_once(model_calls):
    cluster_stories(merge_stories(day_of_world_news()))
    assert model_calls and len(model_calls) == len(set(model_calls))


def test_the_embedding_cache_keeps_the_latest_texts(model_calls, monkeypatch):
    monkeypatch.setattr(stories_module, "EMBEDDING_CACHE", 3)
    texts = [article_text(a) for a in day_of_world_news()[:5]]
    embed(texts)
    embed([texts[0], texts[-1]])  # the first was pushed out by the last three, the last is kept
    assert model_calls == [*texts, texts[0]]


def test_a_cached_embedding_is_the_one_a_new_call_gives():
    texts = [article_text(a) for a in day_of_world_news()]
    forget_embeddings()
    together = embed(texts)
    forget_embeddings()
    one_by_one = np.vstack([embed([text]) for text in reversed(texts)])[::-1]
    assert np.array_equal(together, one_by_one) and np.array_equal(embed(texts), together)


def test_embeddings_are_wordllamas():
    texts = [article_text(a) for a in day_of_world_news()]
    assert np.allclose(embed(texts), embedder().embed(texts, norm=True), atol=1e-6)


@pytest.mark.parametrize("clusters", [3, 5, 8])
def test_ward_clusters_are_scikit_learns(clusters):
    vectors = embed([story_text(s) for s in merge_stories(day_of_world_news())]).astype(float)
    reference = AgglomerativeClustering(n_clusters=clusters, linkage="ward").fit_predict(vectors)
    as_groups = lambda labels: sorted(np.flatnonzero(labels == k).tolist() for k in np.unique(labels))  # noqa: E731
    assert as_groups(_labels(vectors, clusters)) == as_groups(reference)
