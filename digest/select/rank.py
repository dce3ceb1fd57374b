"""Reader relevance (`papers.rank: reader`, the "For you" order): every candidate paper gets a
relevance in [0, 1] and a one-line `why`, from a loaded reader profile (digest.select.reader).

The ranker is a linear SVM per reader, as arxiv-sanity-lite ranks: the profile's texts (library
items and interest phrases) are the positives, the day's candidates the negatives, over TF-IDF of
title and abstract (words and word pairs, fitted on these texts alone), class_weight="balanced",
C=0.01. A paper close to the library and unlike the rest of the day lands on the positive side.
Unlike arxiv-sanity-lite, every term counts (min_df=1): fitted on one day, a subfield's own terms
are rare, and dropping terms seen in fewer than 5 texts dropped what sets the subfield apart
(bench/rank.py measures it). With `reader.embeddings` (the embedded WordLlama, whose weights ship in
its wheel, or an endpoint's model) each text's embedding is added beside the TF-IDF features.

The SVM margin m becomes the relevance 1 / (1 + e^(-2m)) (0.5 on the boundary, 0.88 at the
margin). A paper that mentions an interest phrase (every word of it, stop words aside) is raised to
1 - (1 - r) / 2 (at least 0.5), a followed author's paper to 1 - (1 - r) / 4 (at least 0.75), and a
paper that mentions an `avoid` phrase is pushed down to r / 4 (at most 0.25). Deterministic: same profile and
candidates, same scores. No I/O, no network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack, spmatrix, vstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from digest.models import Paper, Relevance
from digest.select.reader import Profile

C = 0.01  # arxiv-sanity-lite's regularization: a broad margin, many terms with small weights
EMBEDDING_WEIGHT = 0.5  # embedding features' scale beside the unit-length TF-IDF rows (bench/rank.py)
FOLLOWED_FLOOR = 0.75  # a followed author's paper: relevance raised into [0.75, 1]
INTEREST_FLOOR = 0.5  # a paper mentioning an interest phrase: raised into [0.5, 1]
AVOID_CEILING = 0.25  # a paper mentioning an avoided phrase: relevance pushed into [0, 0.25]
TITLE_CHARS = 80  # a library title quoted in `why` is cut here


def paper_text(paper: Paper) -> str:
    """What a candidate is compared on: its title and abstract."""
    return f"{paper.title}. {paper.summary}"


def vectorizer(min_df: int = 1) -> TfidfVectorizer:
    """The TF-IDF of title and abstract, with arxiv-sanity-lite's settings (English stop words, words
    and word pairs, sublinear term frequency, accents folded) and `min_df` (it used 5)."""
    return TfidfVectorizer(
        strip_accents="unicode",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        sublinear_tf=True,
        max_df=0.5,
        min_df=min_df,
    )


def svm_margins(positives: spmatrix, negatives: spmatrix) -> np.ndarray:
    """The signed distance, in margins, of each row of `negatives` from the boundary of a linear SVM
    trained on `positives` (label 1) against `negatives` (label 0), both classes weighted alike."""
    features = vstack([positives, negatives]).tocsr()
    labels = np.r_[np.ones(positives.shape[0]), np.zeros(negatives.shape[0])]
    svm = LinearSVC(C=C, class_weight="balanced", max_iter=10000, tol=1e-6, random_state=0)
    return svm.fit(features, labels).decision_function(negatives)


# Unit-length embeddings of texts, one float32 row each: the embedded WordLlama's (digest.select.stories.embed)
# or an endpoint model's (digest.llm.embeddings.Embedder.embed with the model bound).
Embed = Callable[[list[str]], np.ndarray]


def _features(texts: list[str], embed: Embed | None) -> tuple[csr_matrix, csr_matrix]:
    """The SVM's features of `texts`, and their TF-IDF rows alone (what `why` compares)."""
    tfidf = csr_matrix(vectorizer().fit_transform(texts))
    if embed is None:
        return tfidf, tfidf
    dense = csr_matrix(EMBEDDING_WEIGHT * embed(texts))
    return csr_matrix(hstack([tfidf, dense])), tfidf


_ANALYZE = vectorizer().build_analyzer()  # the TF-IDF's own tokens, so "avoid" reads text as ranking does


def _mentions(paper: Paper, phrases: Sequence[str]) -> str | None:
    """The first phrase whose every word (stop words aside) is in the paper's title or abstract."""
    if not phrases:
        return None
    words = set(_ANALYZE(paper_text(paper)))
    for phrase in phrases:
        needed = [w for w in _ANALYZE(phrase) if " " not in w]  # its words, not its word pairs
        if needed and all(w in words for w in needed):
            return phrase
    return None


def _labels(profile: Profile) -> list[str]:
    """What `why` says for each positive text, in the order _positive_texts gives them."""
    cut = [i.title if len(i.title) <= TITLE_CHARS else i.title[: TITLE_CHARS - 1] + "…" for i in profile.library]
    return [f"close to “{t}” in your library" for t in cut] + [
        f"close to your interest “{p}”" for p in profile.interests
    ]


def _positive_texts(profile: Profile) -> list[str]:
    return [item.text for item in profile.library] + list(profile.interests)


def _base(candidates: Sequence[Paper], profile: Profile, embed: Embed | None) -> tuple[np.ndarray, list[str]]:
    """Relevance from the SVM alone, and each candidate's closest positive text as `why`."""
    positives = _positive_texts(profile)
    if not positives:  # followed authors only: nothing to learn from, authors alone decide
        return np.zeros(len(candidates)), ["not by an author you follow" for _ in candidates]
    texts = positives + [paper_text(p) for p in candidates]
    features, tfidf = _features(texts, embed)
    n = len(positives)
    margins = svm_margins(features[:n], features[n:])
    similarity = (tfidf[n:] @ tfidf[:n].T).toarray()
    labels = _labels(profile)
    return 1 / (1 + np.exp(-2 * margins)), [labels[i] for i in np.argmax(similarity, axis=1)]


def _raise(relevance: float, floor: float) -> float:
    """`relevance` mapped from [0, 1] into [floor, 1], keeping the order among the raised."""
    return 1 - (1 - relevance) * (1 - floor)


def score_papers(
    candidates: Sequence[Paper], profile: Profile, embed: Embed | None = None
) -> dict[str, Relevance] | None:
    """arXiv id -> Relevance for every paper of `candidates`, against `profile`; None when the profile
    is empty (Profile.empty): the caller ranks by triage instead.

    `embed` gives embeddings to add beside TF-IDF (None: lexical only); what it raises passes
    through (an endpoint's EmbeddingError).
    """
    if profile.empty:
        return None
    if not candidates:
        return {}
    base, whys = _base(candidates, profile, embed)
    scores: dict[str, Relevance] = {}
    for paper, relevance, why in zip(candidates, base, whys, strict=True):
        interest = _mentions(paper, profile.interests)
        if interest:
            relevance, why = _raise(relevance, INTEREST_FLOOR), f"matches your interest “{interest}”"
        followed = profile.authors.match(paper.authors)
        if followed:
            relevance, why = _raise(relevance, FOLLOWED_FLOOR), f"by {followed}, whom you follow"
        avoided = _mentions(paper, profile.avoid)
        if avoided:
            relevance, why = relevance * AVOID_CEILING, f"{why}; pushed down: mentions “{avoided}”".lstrip("; ")
        scores[paper.arxiv_id] = Relevance(relevance=round(float(relevance), 4), why=why)
    return scores


def by_relevance(papers: Sequence[Paper], scores: dict[str, Relevance]) -> list[Paper]:
    """`papers` most relevant first; ties keep the given (announcement) order."""
    return sorted(papers, key=lambda p: -scores[p.arxiv_id].relevance)
