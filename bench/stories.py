"""Stories benchmark: how well each duplicate signal and the merge rule find the hand-labelled
same-event groups of real feeds, and what merging and clustering 2,000 articles costs.

Run: python bench/stories.py
Prints, all measured in the same run on tests/data/story_groups.json (its corpus: every item of ten
real recorded feeds published in its date range):
- pairwise precision and recall of each signal alone, at the threshold with the best F1 over the
  cross-source pairs at most 72 h apart (canonical URL, normalized title, MinHash LSH Jaccard via
  datasketch, TF-IDF cosine, WordLlama embedding cosine, their sum, headline containment), and of the
  module's rule (`merge_stories`);
  the former fetch-stage dedup (first item per URL or title) is the URL-or-title row;
- the false merges among the labelled hard negatives (same topic, different events);
- the time (median of RUNS runs, each from an empty embedding cache, as a build's first run) and peak
  memory (tracemalloc) to merge and cluster 2,000 articles built from every recorded news item in
  tests/data, against the former fetch-stage dedup (exact URL or title keys) on the same articles;
  target under 2 s.

Pairs labelled ambiguous are left out of every score.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
from datasketch import MinHash, MinHashLSH

from digest.config import FeedConfig
from digest.fetch.feeds import parse_feed
from digest.models import Article
from digest.select.clusters import StoryCluster, cluster_stories
from digest.select.stories import (
    MAX_GAP_HOURS,
    Story,
    article_text,
    canonical_url,
    embedder,
    embedding_similarity,
    forget_embeddings,
    merge_stories,
    text_similarities,
    title_key,
)

DATA = ROOT / "tests" / "data"
LABELS = DATA / "story_groups.json"
FETCHED = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
RUNS = 5  # timed runs, the median reported: on a shared machine one run varies by half
Pair = frozenset[int]


class Labelled:
    """The labelled corpus: its articles (feed file as source), and as pairs of article indices the
    duplicates, the ambiguous pairs and the hard negatives."""

    def __init__(self, path: Path = LABELS) -> None:
        spec = json.loads(path.read_text())
        first, last = (dt.date.fromisoformat(spec["corpus"][k]) for k in ("published_from", "published_to"))
        self.articles = [a for name in spec["corpus"]["files"] for a in _feed(name) if first <= _day(a) <= last]
        index = {(a.source, a.link): i for i, a in enumerate(self.articles)}

        def pairs(entries: Iterable[dict]) -> set[Pair]:
            found = set()
            for entry in entries:  # a KeyError here names an item the corpus does not hold
                members = [index[(item["file"], item["link"])] for item in entry["items"]]
                found |= {frozenset(p) for p in itertools.combinations(members, 2)}
            return found

        self.duplicates = pairs(spec["groups"])
        self.ambiguous = pairs(spec["ambiguous"])
        self.hard_negatives = pairs(spec["hard_negatives"])


def _feed(name: str) -> list[Article]:
    return parse_feed(
        (DATA / name).read_bytes(), FeedConfig(name=name, url=f"https://{name}.example", kind="news"), FETCHED
    )


def _day(article: Article) -> dt.date:
    return (article.published or FETCHED).date()


def merged_pairs(groups: Iterable[Iterable[int]]) -> set[Pair]:
    """Every pair of indices that share a group."""
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


def precision_recall(predicted: set[Pair], labelled: Labelled) -> tuple[float, float]:
    """Pairwise precision and recall of `predicted` against the labels, ambiguous pairs left out."""
    scored = predicted - labelled.ambiguous
    hits = len(scored & labelled.duplicates)
    return hits / len(scored) if scored else 1.0, hits / len(labelled.duplicates)


def story_pairs(labelled: Labelled) -> set[Pair]:
    """The pairs `merge_stories` puts into one story."""
    index = {id(a): i for i, a in enumerate(labelled.articles)}
    return merged_pairs([index[id(a)] for a in s.articles] for s in merge_stories(labelled.articles))


def _candidates(articles: list[Article]) -> np.ndarray:
    """Which pairs a text signal may merge: different sources, at most MAX_GAP_HOURS apart."""
    stamps = np.array([(a.published or FETCHED).timestamp() for a in articles])
    sources = np.array([a.source for a in articles], dtype=object)
    return (np.abs(stamps[:, None] - stamps[None, :]) / 3600 <= MAX_GAP_HOURS) & (sources[:, None] != sources[None, :])


def minhash_jaccard(articles: list[Article], threshold: float) -> set[Pair]:
    """Pairs whose word sets' MinHash (128 permutations) LSH finds at Jaccard `threshold` or more,
    among the pairs `_candidates` allows."""
    allowed = _candidates(articles)
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = []
    for i, article in enumerate(articles):
        words = {w.encode() for w in re.findall(r"\w+", article_text(article).casefold())}
        hashes.append(MinHash(num_perm=128, seed=1))
        hashes[-1].update_batch(list(words))
        lsh.insert(str(i), hashes[-1])
    return {frozenset((i, int(j))) for i, h in enumerate(hashes) for j in lsh.query(h) if allowed[i, int(j)]}


def best_threshold(scores: np.ndarray, allowed: np.ndarray, labelled: Labelled) -> tuple[float, float, float]:
    """(threshold, precision, recall) with the best F1 over the thresholds the scores take."""
    upper = np.triu(allowed, k=1)
    best = (0.0, 0.0, 0.0, -1.0)
    for threshold in np.unique(np.round(scores[upper], 2)):
        i, j = np.nonzero(upper & (scores >= threshold))
        p, r = precision_recall({frozenset(x) for x in zip(i.tolist(), j.tolist(), strict=True)}, labelled)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[3]:
            best = (float(threshold), p, r, f1)
    return best[:3]


def key_pairs(labelled: Labelled, key: Callable[[Article], str | None]) -> set[Pair]:
    """Pairs whose `key` is equal and not None."""
    groups: dict[str, list[int]] = {}
    for i, article in enumerate(labelled.articles):
        if (k := key(article)) is not None:
            groups.setdefault(k, []).append(i)
    return merged_pairs(groups.values())


def signal_rows(labelled: Labelled) -> list[tuple[str, str, float, float, set[Pair] | None]]:
    """(signal, threshold, precision, recall, pairs when known) for each signal and the rule."""
    articles = labelled.articles
    allowed = _candidates(articles)
    url, title = key_pairs(labelled, lambda a: canonical_url(a.link)), key_pairs(labelled, lambda a: title_key(a.title))
    rows = [("canonical URL", "equal", *precision_recall(url, labelled), url)]
    rows.append(
        ("URL or title (today's feeds.py dedup)", "equal", *precision_recall(url | title, labelled), url | title)
    )
    best_minhash = max(
        ((t, *precision_recall(minhash_jaccard(articles, t), labelled)) for t in (0.1, 0.15, 0.2, 0.3, 0.5)),
        key=lambda row: 2 * row[1] * row[2] / (row[1] + row[2] or 1),
    )
    rows.append(("MinHash LSH Jaccard (cross-source, <= 72 h)", f">= {best_minhash[0]}", *best_minhash[1:], None))
    embedding, (tfidf, contained) = embedding_similarity(articles), text_similarities(articles)
    for name, scores in (
        ("TF-IDF cosine", tfidf),
        ("WordLlama cosine", embedding),
        ("embedding + TF-IDF", embedding + tfidf),
        ("headline containment", contained),
    ):
        threshold, p, r = best_threshold(scores, allowed, labelled)
        rows.append((f"{name} (cross-source, <= 72 h)", f">= {threshold:.2f}", p, r, None))
    story = story_pairs(labelled)
    rows.append(("merge_stories (the module's rule)", "", *precision_recall(story, labelled), story))
    return rows


def _scaled(count: int) -> list[Article]:
    """`count` articles from every recorded news item in tests/data: copies shifted past the whole
    recorded span each, under their own source, title and link, so copies never merge."""
    recorded = []
    for path in sorted(DATA.glob("*")):
        try:
            recorded += _feed(path.name)
        except Exception:  # not a news feed (arXiv listings, JSON, text dumps)
            continue
    recorded = [a for a in recorded if "arxiv" not in a.source]
    random.Random(0).shuffle(recorded)
    dates = [a.published or FETCHED for a in recorded]
    span = max(dates) - min(dates) + dt.timedelta(days=7)
    out = []
    for k in itertools.count():
        for a in recorded:
            if len(out) == count:
                return out
            shift = span * k
            out.append(
                a.model_copy(
                    update={
                        "id": f"{a.id}-{k}",
                        "source": f"{a.source} {k}",
                        "title": f"{a.title} ({k})" if k else a.title,
                        "link": f"{a.link}{'&' if '?' in a.link else '?'}copy={k}" if k else a.link,
                        "published": (a.published or FETCHED) + shift,
                    }
                )
            )
    return out


def cold_run(articles: list[Article]) -> tuple[float, float, list[Story], list[StoryCluster]]:
    """One run as the pipeline makes it, from an empty embedding cache: (merge seconds, cluster
    seconds, stories, clusters); clustering reuses the vectors the merge computed."""
    forget_embeddings()
    started = time.perf_counter()
    stories = merge_stories(articles)
    merged = time.perf_counter()
    clusters = cluster_stories(stories)
    return merged - started, time.perf_counter() - merged, stories, clusters


def peak_bytes(work: Callable[[], object]) -> int:
    """The peak bytes allocated while `work` runs, traced in a run of its own (tracing slows allocation)."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def seconds(work: Callable[[], object]) -> float:
    """The wall-clock seconds of one call of `work`."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def exact_keys(articles: list[Article]) -> list[Article]:
    """The baseline: the fetch stage's former dedup, the first article of each canonical URL or
    normalized title, the other reports dropped."""
    seen: set[str] = set()
    kept = []
    for article in articles:
        keys = {f"t:{title_key(article.title)}"} | ({f"u:{canonical_url(article.link)}"} if article.link else set())
        if not keys & seen:
            kept.append(article)
        seen |= keys
    return kept


def main() -> None:
    labelled = Labelled()
    print(
        f"labelled corpus: {len(labelled.articles)} articles, {len(labelled.duplicates)} duplicate pairs, "
        f"{len(labelled.ambiguous)} ambiguous pairs left out, {len(labelled.hard_negatives)} hard negatives"
    )
    print(f"{'signal':48} {'threshold':>10} {'precision':>10} {'recall':>7} {'hard neg merged':>16}")
    for name, threshold, p, r, pairs in signal_rows(labelled):
        hard = f"{len(pairs & labelled.hard_negatives)}/{len(labelled.hard_negatives)}" if pairs is not None else "-"
        print(f"{name:48} {threshold:>10} {p:10.2f} {r:7.2f} {hard:>16}")
    articles = _scaled(2000)
    embedder()  # the model loads once per process, outside the timing
    base_s = statistics.median(seconds(lambda: exact_keys(articles)) for _ in range(RUNS))
    runs = [cold_run(articles) for _ in range(RUNS)]
    merge_s = statistics.median(merge for merge, _, _, _ in runs)
    cluster_s = statistics.median(cluster for _, cluster, _, _ in runs)
    total_s = statistics.median(merge + cluster for merge, cluster, _, _ in runs)
    _, _, stories, clusters = runs[0]
    forget_embeddings()
    merge_peak = peak_bytes(lambda: merge_stories(articles))
    cluster_peak = peak_bytes(lambda: cluster_stories(stories))
    print(f"\n2,000 articles from the recorded feeds, median of {RUNS} runs (target: merge + cluster under 2 s)")
    print(f"  baseline exact keys:   {base_s:.3f} s, {len(exact_keys(articles))} kept")
    print(f"  merge_stories:         {merge_s:.3f} s, peak {merge_peak / 2**20:.1f} MiB, {len(stories)} stories")
    print(f"  cluster_stories:       {cluster_s:.3f} s, peak {cluster_peak / 2**20:.1f} MiB, {len(clusters)} clusters")
    print(f"  merge + cluster:       {total_s:.3f} s (each run from an empty embedding cache)")


if __name__ == "__main__":
    main()
