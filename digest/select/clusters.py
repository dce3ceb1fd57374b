"""The day's stories grouped into topics, deterministically: one vector per story, clustered by
Ward's agglomerative clustering (scipy), each cluster with its top TF-IDF keywords.

The vectors are the stories' WordLlama embeddings (`features="embedding"`, the default) or their
TF-IDF vectors (`features="tfidf"`, reduced by truncated SVD when the vocabulary is large). Measured
on real feeds (`python bench/stories.py`): on a day of world news TF-IDF leaves one cluster of about
half the stories that share only common words, a catch-all in all but name; the embeddings give
topics of even size.

Rules: every story is in exactly one cluster; the number of clusters follows the day (`topic_count`:
3 to 8 for 12 stories or more); a cluster of fewer than `MIN_TOPIC` stories is not a topic, its
stories go to the catch-all cluster (`catch_all=True`), which holds at most `CATCH_ALL_SHARE` of a day
of 12 stories or more: the stories past that cap join the nearest topic. The same stories give the
same clusters whatever order they come in. A model names each cluster later; `keyword_title` is the
readable title when it cannot.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix
from scipy.spatial.distance import squareform
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from digest.select.stories import Story, article_text, embed

MIN_TOPIC = 2
CATCH_ALL_SHARE = 0.2
FULL_DAY = 12  # stories from which a day has 3-8 topics and the catch-all cap applies
KEYWORDS = 5
SVD_DIMENSIONS = 100
CATCH_ALL = -1  # the label of the catch-all cluster


class StoryCluster(BaseModel):
    """One topic of the day before a model names it: its stories and top keywords (best first).
    The catch-all cluster holds the stories that fit no topic."""

    stories: list[Story]
    keywords: list[str]
    catch_all: bool = False


def topic_count(stories: int) -> int:
    """How many clusters a day of `stories` stories gets: one per six stories, 3 to 8 from 12 stories
    on (so a topic averages 4-6 stories at the cap), one per four below that (at least one)."""
    if stories >= FULL_DAY:
        return min(8, max(3, round(stories / 6)))
    return max(1, min(stories, stories // 4))


def story_text(story: Story) -> str:
    """What clustering reads of a story: the lead's title and summary and the other reports' titles."""
    return " ".join([article_text(story.lead), *(a.title for a in story.articles[1:])])


Features = Literal["embedding", "tfidf"]


def cluster_stories(
    stories: list[Story], features: Features = "embedding", vectors_of: Callable[[list[str]], np.ndarray] = embed
) -> list[StoryCluster]:
    """`stories` as topic clusters, the largest first (ties: by first story), the catch-all last;
    `features` says what the clustering compares (the module docstring says why embeddings), and
    `vectors_of` embeds the stories' texts (default: the embedded WordLlama; `news.embeddings`: an
    endpoint's model, whose EmbeddingError passes through).

    Deterministic: the stories are sorted by their lead's id before anything is computed.
    """
    ordered = sorted(stories, key=lambda s: (s.lead.id, s.lead.source))
    if not ordered:
        return []
    texts = [story_text(s) for s in ordered]
    # Words with a letter only: a number ("250", "2026") says nothing about a topic.
    tfidf = TfidfVectorizer(
        sublinear_tf=True, stop_words="english", strip_accents="unicode", token_pattern=r"(?u)\b\w*[^\W\d]\w*\b"
    )
    try:
        matrix = tfidf.fit_transform(texts)
    except ValueError:  # not one word that is not a stop word: one topic, no keywords
        return [StoryCluster(stories=ordered, keywords=[])]
    vectors = vectors_of(texts).astype(float) if features == "embedding" else _reduce(matrix)
    labels = _cap_catch_all(vectors, _labels(vectors, topic_count(len(ordered))))
    terms = tfidf.get_feature_names_out()
    return [_cluster(ordered, matrix, terms, labels, label) for label in _label_order(labels)]


def _reduce(matrix: csr_matrix) -> np.ndarray:
    """Unit-length dense rows for clustering: LSA (truncated SVD) to SVD_DIMENSIONS dimensions when the
    vocabulary and the day are larger than that (Ward needs dense rows; a 2,000-story day has ~10,000
    terms), else the TF-IDF rows themselves."""
    if min(matrix.get_shape()) > SVD_DIMENSIONS:
        return np.asarray(normalize(TruncatedSVD(n_components=SVD_DIMENSIONS, random_state=0).fit_transform(matrix)))
    return np.asarray(normalize(matrix.toarray()))


def _labels(vectors: np.ndarray, clusters: int) -> np.ndarray:
    """Ward clustering of `vectors` (one row per story) into `clusters` labels 0..clusters-1 (fewer
    only when merges of the tree tie where it is cut)."""
    if clusters <= 1 or len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product, where the pdist that scikit-learn's Ward
    # calls loops over the pairs (a third of the time of clustering 2,000 stories).
    lengths = np.einsum("ij,ij->i", vectors, vectors)
    products = vectors @ vectors.T
    products *= -2  # in place: at 2,000 stories the matrix is 32 MB
    products += lengths[:, None]
    products += lengths[None, :]
    squared = squareform(products, checks=False)  # the upper triangle, condensed
    tree = linkage(np.sqrt(np.clip(squared, 0, None, out=squared), out=squared), method="ward")
    return fcluster(tree, clusters, criterion="maxclust") - 1


def _cap_catch_all(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels with every cluster under MIN_TOPIC stories folded into the catch-all (label -1), and on
    a full day the catch-all's stories past CATCH_ALL_SHARE moved to the topic with the nearest
    centroid, the stories nearest a topic first."""
    sizes = np.bincount(labels)
    labels = np.where(sizes[labels] < MIN_TOPIC, CATCH_ALL, labels)
    topics = [label for label in np.unique(labels) if label != CATCH_ALL]
    leftover = np.flatnonzero(labels == CATCH_ALL)
    cap = math.floor(CATCH_ALL_SHARE * len(labels)) if len(labels) >= FULL_DAY else len(labels)
    if not topics or len(leftover) <= cap:
        return labels
    centroids = np.asarray(normalize(np.vstack([vectors[labels == t].mean(axis=0) for t in topics])))
    closeness = vectors[leftover] @ centroids.T
    # Nearest first; the index breaks ties, so equal scores never depend on sort stability.
    moved = sorted(range(len(leftover)), key=lambda k: (-closeness[k].max(), leftover[k]))[: len(leftover) - cap]
    for k in moved:
        labels[leftover[k]] = topics[int(np.argmax(closeness[k]))]
    return labels


def _label_order(labels: np.ndarray) -> list[int]:
    """The labels by cluster size (largest first), then by first member; the catch-all last."""
    topics = {int(label) for label in labels} - {CATCH_ALL}
    order = sorted(topics, key=lambda t: (-int(np.sum(labels == t)), int(np.argmax(labels == t))))
    return order + ([CATCH_ALL] if CATCH_ALL in labels else [])


def _cluster(
    stories: list[Story], matrix: csr_matrix, terms: np.ndarray, labels: np.ndarray, label: int
) -> StoryCluster:
    members = labels == label
    return StoryCluster(
        stories=[s for s, m in zip(stories, members, strict=True) if m],
        keywords=top_keywords(matrix, terms, members),
        catch_all=label == CATCH_ALL,
    )


def top_keywords(matrix: csr_matrix, terms: np.ndarray, members: np.ndarray, count: int = KEYWORDS) -> list[str]:
    """The `count` terms that set the member rows of `matrix` (TF-IDF, one row per story) apart: the
    highest mean weight in the cluster minus the mean weight in the other stories (a class-based
    TF-IDF), best first; ties by term. Only terms that weigh more inside than outside count."""
    inside = np.asarray(matrix[members].mean(axis=0)).ravel()
    outside = np.asarray(matrix[~members].mean(axis=0)).ravel() if (~members).any() else np.zeros_like(inside)
    score = inside - outside
    best = sorted(np.flatnonzero(score > 0), key=lambda t: (-score[t], terms[t]))[:count]
    return [str(terms[t]) for t in best]


def keyword_title(cluster: StoryCluster, catch_all_title: str = "More AI news") -> str:
    """A readable title from the cluster's keywords, for when the model cannot name it: the first three,
    each as the stories write it ("AI", "OpenAI", "GPT"; a word only ever written in lower case is
    capitalized), joined ("Peru, Impeach and Congress"); `catch_all_title` for the catch-all or a
    cluster without keywords."""
    text = " ".join(story_text(s) for s in cluster.stories)
    words = [_as_written(w, text) for w in cluster.keywords[:3]]
    if cluster.catch_all or not words:
        return catch_all_title
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _as_written(keyword: str, text: str) -> str:
    """`keyword` (TF-IDF lowercases) in the form `text` uses most, capitalized if only lower case."""
    forms = Counter(m.group(0) for m in re.finditer(rf"\b{re.escape(keyword)}\b", text, re.IGNORECASE))
    form = max(forms, key=lambda f: (forms[f], f != f.lower())) if forms else keyword
    return form[0].upper() + form[1:] if form == form.lower() else form
