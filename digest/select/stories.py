"""News as stories: the articles of several feeds about one event become one story that lists every
source, and a Hacker News or Reddit item that links to a story becomes its discussion link.

Two news articles are one story when their canonical URLs are equal (`canonical_url`), their
normalized titles are equal, or they are near-duplicates: from different sources, published at most
`MAX_GAP_HOURS` apart, and either with a score (embedding plus TF-IDF similarity) of at least
`NEAR_DUPLICATE` or with one's headline contained in the other's text (`text_similarities`) at
`HEADLINE_CONTAINED` or more. The rule and its thresholds were measured on hand-labelled real feeds
(tests/data/story_groups.json, `python bench/stories.py`): outlets word one event differently, so word
overlap finds too few duplicates (MinHash Jaccard: recall 0.08 at precision 1.0) or, loosened, merges
same-topic stories (TF-IDF cosine at its best: precision 0.90, recall 0.69); the embedding of the
embedded WordLlama model alone reaches recall 0.77 with its threshold a hair above the best-scoring
different events, the sum with TF-IDF the same recall with a wider margin. The score misses a
title-only item (a press-release feed without summaries) next to a report that names its subject:
the share of the headline's rare terms the report holds finds it (alone: precision 0.85, recall 0.85
at its best; no different event reaches 0.6). Together: precision 1.00, recall 0.92, that is 12 of 13
pairs, the 12th being that title-only item: one pair, so the margin is thin evidence. The 13th pair,
two reports sharing only "French", "Epstein" and "files", scores below different events that share as
much (IDF-weighted shared rare terms rank it among them too). Within one source, only equal URLs or titles merge: an outlet's second article on an
event is a follow-up, not a copy (every same-source pair of the labelled data that the scores would
have merged was one).

Merging is transitive (connected components of the duplicate pairs) and independent of feed order:
a story's articles are sorted by publication time, the first report leads. Every text is embedded
once (`embed` keeps the vectors), so clustering the stories (digest.select.clusters) reuses the
vectors merging computed.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import pathlib
import re
import urllib.parse
from collections.abc import Sequence

import numpy as np
import wordllama
from pydantic import BaseModel, Field
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from tokenizers import Tokenizer
from wordllama import WordLlama
from wordllama.inference import WordLlamaInference

from digest.models import Article, Coverage

MAX_GAP_HOURS = 72.0  # the labelled duplicates were at most 38 h apart; a news window is 2 days
# On the labelled data the highest score of two different events (cross-source, within 72 h) is 0.85
# and the duplicates score 0.45-1.32: 0.88 merges no different events and 11 of 13 duplicate pairs.
NEAR_DUPLICATE = 0.88
# Headline containment: the best-scoring different events reach 0.56 and the title-only duplicate that
# the score misses (Anthropic's "Claude's new constitution" and TIME's report) 0.76; halfway between.
HEADLINE_CONTAINED = 0.65
# Fewer terms and one shared word decides: "Labubu Diplomacy" (2 terms) reaches 0.46 in unrelated reports.
MIN_TITLE_TERMS = 3
# Texts whose embeddings are kept: a text and a title per article of a 2,000-article day, and the
# clusters' story texts, with room to spare (256 float32 each: 16 MB at most).
EMBEDDING_CACHE = 16_384
_embeddings: dict[str, np.ndarray] = {}

# Query parameters that track the click, not the page (Google Analytics, ad networks, newsletters,
# and the outlets' own: DW's maca, NYT's smid, the BBC's at_*; Google's AMP viewer flag `amp`).
_TRACKING = re.compile(
    r"utm_.*|at_.*|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl|ref|ref_src|ref_url|"
    r"cmpid|smid|smtyp|maca|ocid|xtor|ito|guccounter|amp|outputtype|__twitter_impression"
)
_MOBILE_HOST = re.compile(r"^(?:www|m|mobile|amp)\.")
_AMP_CACHE = re.compile(r"^[\w-]+\.cdn\.ampproject\.org$")


class Story(BaseModel):
    """One event as the day's feeds reported it.

    `articles` are the news reports, the lead (the first published) first, then the ones that also
    covered it; `discussion` is the comment-feed item (Hacker News, Reddit) that links to one of them.
    A comment item that links to no story is a story of its own, with itself as its only article.
    """

    articles: list[Article] = Field(min_length=1)
    discussion: Article | None = None

    @property
    def lead(self) -> Article:
        """The article the story is shown by."""
        return self.articles[0]

    @property
    def sources(self) -> list[str]:
        """The sources that covered the story, lead first, each once."""
        return list(dict.fromkeys(a.source for a in self.articles))


@functools.lru_cache(maxsize=8192)  # merging and attaching ask for the same links again
def canonical_url(url: str) -> str:
    """`url` as a key that two links to the same page share, e.g. "bbc.co.uk/news/world-123".

    Dropped: the scheme, user info, default ports, "www." and mobile or AMP host prefixes ("m.",
    "mobile.", "amp."), Google's AMP cache wrapper (host.cdn.ampproject.org/c/s/...), "amp" path
    segments and a trailing ".amp", the fragment, tracking query parameters (utm_*, fbclid, gclid, ...),
    trailing slashes. The other query parameters are kept, sorted. Raises ValueError when `url` has
    no host (a relative or non-web link).
    """
    parts = urllib.parse.urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValueError(f"not an absolute web URL: {url!r}")
    path = parts.path
    if _AMP_CACHE.match(host) and (wrapped := re.match(r"^/c/(?:s/)?([^/]+)(/.*)?$", path)):
        host, path = wrapped.group(1).lower(), wrapped.group(2) or ""
    while _MOBILE_HOST.match(host):
        host = _MOBILE_HOST.sub("", host, count=1)
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    segments = [s for s in path.split("/") if s and s.lower() != "amp"]
    path = re.sub(r"\.amp$", "", "/".join(segments), flags=re.I)
    query = sorted(
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.fullmatch(k.lower())
    )
    return f"{host}/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def _url_key(article: Article) -> str | None:
    """The article's canonical URL, or None when it has no usable link."""
    try:
        return canonical_url(article.link) if article.link else None
    except ValueError:
        return None


def title_key(title: str) -> str:
    """`title` casefolded, punctuation and extra spaces removed: equal for the same headline."""
    return " ".join(re.sub(r"[^\w\s]", " ", title.casefold()).split())


def article_text(article: Article) -> str:
    """Title and summary, the text the similarities compare (a summary that repeats the title, as
    scraped feeds often have, counts once)."""
    summary = article.summary.strip()
    return article.title if summary.startswith(article.title) else f"{article.title}. {summary}"


@functools.cache
def embedder() -> WordLlamaInference:
    """The WordLlama model whose weights ship in its wheel (l2_supercat, 256 dimensions), loaded once.

    wordllama 0.4 looks for its tokenizer file in `tokenizer/` of the package while the wheel ships it
    in `tokenizers/`, the folder it uses under a cache directory: so the package folder is the cache,
    and downloads are off (raises FileNotFoundError rather than reach the network).
    """
    return WordLlama.load(cache_dir=pathlib.Path(wordllama.__file__).parent, disable_download=True)


@functools.cache
def _tokenizer() -> Tokenizer:
    """WordLlama's tokenizer without the padding its model turns on: `_pooled` reads each text's own tokens."""
    tokenizer = Tokenizer.from_str(embedder().tokenizer.to_str())
    tokenizer.no_padding()
    return tokenizer


def _pooled(texts: list[str]) -> np.ndarray:
    """The WordLlama embedding of each text, one unit-length row (256 float32) per text: the mean of
    its tokens' vectors, as `WordLlamaInference.embed(norm=True)` gives it up to float rounding, but as
    one sparse product of token counts and vectors, where the library pads each batch to its longest
    text and multiplies the padding out (about twice the time). A text of no token gets a row of zeros."""
    tokens = [encoding.ids for encoding in _tokenizer().encode_batch(texts, add_special_tokens=False)]
    lengths = [len(ids) for ids in tokens]
    token_vectors = embedder().embedding  # one row per token id
    counts = csr_matrix(
        (
            np.ones(sum(lengths), dtype=np.float32),
            np.fromiter(itertools.chain.from_iterable(tokens), dtype=np.int64, count=sum(lengths)),
            np.concatenate(([0], np.cumsum(lengths))),
        ),
        shape=(len(texts), len(token_vectors)),
    )
    sums = np.asarray(counts @ token_vectors, dtype=np.float32)  # the mean's direction: the count cancels below
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), np.finfo(np.float32).tiny)


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length WordLlama embeddings of `texts`, one row (256 float32) per text (`_pooled`).

    Each text is embedded once while it is among the `EMBEDDING_CACHE` latest: merging and clustering
    read the same texts, and tokenizing them is most of their cost. A cached row is the row a new call
    would give (each row is pooled from its own text's tokens only).
    """
    missing = list(dict.fromkeys(t for t in texts if t not in _embeddings))
    if missing:
        _embeddings.update(zip(missing, _pooled(missing), strict=True))
    rows = [_embeddings[t] for t in texts]
    for text in list(itertools.islice(_embeddings, max(0, len(_embeddings) - EMBEDDING_CACHE))):
        del _embeddings[text]  # the oldest first: a dict keeps insertion order
    return np.vstack(rows) if rows else np.empty((0, embedder().embedding.shape[1]), dtype=np.float32)


def forget_embeddings() -> None:
    """Empty the embedding cache (a benchmark times runs that embed every text)."""
    _embeddings.clear()


def embedding_similarity(articles: Sequence[Article]) -> np.ndarray:
    """Pairwise cosine similarity (n x n float32, -1..1) of the WordLlama embeddings: of the two texts,
    or of one's title and the other's text, whichever is highest (a title-only item matches the report
    whose summary says the same)."""
    texts = embed([article_text(a) for a in articles])
    titles = embed([a.title for a in articles])
    title_text = titles @ texts.T
    scores = texts @ texts.T
    np.maximum(scores, title_text, out=scores)  # in place: at 2,000 articles each matrix is 16 MB
    return np.maximum(scores, title_text.T, out=scores)


def text_similarities(articles: Sequence[Article]) -> tuple[np.ndarray, np.ndarray]:
    """(TF-IDF cosine, headline containment) of every pair, each n x n float32 in 0..1, from one TF-IDF
    fit on the texts of `articles` (English stop words out, accents stripped, sublinear term frequency).

    Headline containment of a pair is the larger of its two directions: the IDF weight of one title's
    terms that the other's title and summary hold, over the IDF weight of all that title's terms, so
    a rare name counts more than a common word; 0 for a title of fewer than `MIN_TITLE_TERMS` terms,
    where one shared word would decide.
    """
    vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english", strip_accents="unicode")
    try:
        matrix = csr_matrix(vectors.fit_transform([article_text(a) for a in articles]), dtype=np.float32)
    except ValueError:  # no term left once the stop words are out ("One", "Two"): nothing is alike
        nothing = np.zeros((len(articles), len(articles)), dtype=np.float32)
        return nothing, nothing.copy()
    present = matrix.copy()
    present.data[:] = 1
    titles = csr_matrix(vectors.transform([a.title for a in articles]), dtype=np.float32)
    titles.data = vectors.idf_[titles.indices].astype(np.float32)  # each of a title's terms once, at its IDF
    total = np.asarray(titles.sum(axis=1)).ravel()
    long_enough = np.diff(titles.indptr) >= MIN_TITLE_TERMS
    share = (titles @ present.T).toarray()
    share *= (long_enough / np.maximum(total, 1e-9))[:, None].astype(np.float32)
    return (matrix @ matrix.T).toarray(), np.maximum(share, share.T)


def duplicate_pairs(articles: Sequence[Article]) -> np.ndarray:
    """The pairs (i, j), i < j, of `articles` that are one story by the module's rule, as an (m, 2) array."""
    urls, titles = _codes([_url_key(a) for a in articles]), _codes([title_key(a.title) for a in articles])
    same = _equal(urls) | _equal(titles)
    allowed = _may_be_near(articles)
    tfidf, contained = text_similarities(articles)
    score = embedding_similarity(articles)
    score += tfidf
    near = (score >= NEAR_DUPLICATE) | (contained >= HEADLINE_CONTAINED)
    i, j = np.nonzero(np.triu(same | (near & allowed), k=1))
    return np.column_stack((i, j))


def _may_be_near(articles: Sequence[Article]) -> np.ndarray:
    """Which pairs may be near-duplicates (n x n bool): from different sources, at most MAX_GAP_HOURS
    apart (an undated article is near any date)."""
    stamps = np.array([a.published.timestamp() if a.published else np.nan for a in articles])
    gap = np.subtract.outer(stamps, stamps)
    np.abs(gap, out=gap)  # in place: at 2,000 articles the matrix is 32 MB
    return ~_equal(_codes([a.source for a in articles])) & ~(gap > MAX_GAP_HOURS * 3600)


def _codes(keys: list[str | None]) -> np.ndarray:
    """One integer per key, equal for equal keys, -1 for None (numbers compare fast, strings do not)."""
    numbers: dict[str, int] = {}
    return np.array([-1 if k is None else numbers.setdefault(k, len(numbers)) for k in keys])


def _equal(codes: np.ndarray) -> np.ndarray:
    """The n x n matrix of which codes are equal, None (-1) equal to nothing."""
    return (codes[:, None] == codes[None, :]) & (codes[:, None] >= 0)


def _published(article: Article) -> dt.datetime:
    return article.published or dt.datetime.max.replace(tzinfo=dt.UTC)


def _order(article: Article) -> tuple[dt.datetime, str, str]:
    """First published first; source and id break ties, so the order never depends on the feeds'."""
    return (_published(article), article.source, article.id)


def _components(articles: list[Article], pairs: np.ndarray) -> list[list[Article]]:
    """The groups of `articles` joined by `pairs`, each in `_order`, groups by their lead."""
    n = len(articles)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else None
    labels = connected_components(graph, directed=False)[1] if graph is not None else np.arange(n)
    groups: dict[int, list[Article]] = {}
    for label, article in zip(labels, articles, strict=True):
        groups.setdefault(int(label), []).append(article)
    return sorted((sorted(g, key=_order) for g in groups.values()), key=lambda g: _order(g[0]))


def merge_stories(articles: Sequence[Article]) -> list[Story]:
    """The day's articles as stories: the news stories in the order of their leads (first published
    first), then the comment items that discuss none of them.

    News articles merge by the module's rule; each comment item (`kind: comment`) whose link is a
    story's URL becomes that story's discussion (the first published one when several link to it);
    the other comment items are stories of their own, those linking to the same URL merged.
    """
    ordered = sorted(articles, key=_order)
    news = [a for a in ordered if a.kind == "news"]
    stories = [Story(articles=group) for group in _components(news, duplicate_pairs(news))] if news else []
    return stories + attach_discussions(stories, [a for a in ordered if a.kind == "comment"])


def attach_discussions(stories: list[Story], comments: list[Article]) -> list[Story]:
    """Give each story in `stories` (in place) the first of `comments` that links to one of its
    articles' URLs; return the comment items that link to no story, as stories (one per URL)."""
    by_url = {key: story for story in stories for a in story.articles if (key := _url_key(a))}
    alone: dict[str, list[Article]] = {}
    for comment in comments:
        key = _url_key(comment)
        story = by_url.get(key) if key else None
        if story is None:
            alone.setdefault(key or f"id:{comment.id}", []).append(comment)
        elif story.discussion is None:
            story.discussion = comment
    return [Story(articles=group) for group in alone.values()]


def newest(stories: list[Story], limit: int) -> list[Story]:
    """The `limit` stories (`news.max_articles`) whose latest report is the most recent, in their order."""
    latest = sorted(stories, key=lambda s: max(_published(a) for a in s.articles), reverse=True)[:limit]
    kept = {id(s) for s in latest}
    return [s for s in stories if id(s) in kept]


def as_article(story: Story) -> Article:
    """`story` as the page shows it: its lead article, with the other reports as `also` and the
    comment thread that links to it as `discussion` (the thread's own URL when its feed gives one)."""
    also = [Coverage(source=a.source, title=a.title, link=a.link, published=a.published) for a in story.articles[1:]]
    thread = story.discussion
    discussion = (
        Coverage(
            source=thread.source, title=thread.title, link=thread.comments or thread.link, published=thread.published
        )
        if thread
        else None
    )
    return story.lead.model_copy(update={"also": also, "discussion": discussion})
