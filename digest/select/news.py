"""The day's news as topics before any model names them: the articles merged into stories, the
newest kept, clustered (digest.select.stories, digest.select.clusters); and which embedding function a
`reader.embeddings` / `news.embeddings` setting names."""

from __future__ import annotations

import functools

from digest.config import NewsConfig
from digest.llm.embeddings import Embedder
from digest.models import Article
from digest.select.clusters import StoryCluster, cluster_stories
from digest.select.rank import Embed
from digest.select.reader import EMBEDDED
from digest.select.stories import embed as stories_embed
from digest.select.stories import merge_stories, newest


def stories_of(articles: list[Article], news: NewsConfig, embedder: Embedder | None = None) -> list[StoryCluster]:
    """The day's articles as stories (every report of one event merged, comment threads attached),
    the newest `news.max_articles` of them, clustered into topics (digest.select) by `embedder`'s
    `news.embeddings` model when set (else the embedded WordLlama). Raises EmbeddingError."""
    stories = newest(merge_stories(articles), news.max_articles)
    vectors_of = embedding(news.embeddings, embedder) or stories_embed
    return cluster_stories(stories, vectors_of=vectors_of)


def embedding(name: str | None, embedder: Embedder | None) -> Embed | None:
    """The embedding function a `reader.embeddings` / `news.embeddings` setting names: None for
    none, the embedded WordLlama for "wordllama", else `embedder`'s model of that name."""
    if name is None:
        return None
    if name == EMBEDDED or embedder is None:
        return stories_embed
    return functools.partial(embedder.embed, model=name)
