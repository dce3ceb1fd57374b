"""Reader-relevance benchmark: the default ranker (digest.select.rank) beside arxiv-sanity-lite's SVM
and beside mean similarity, on recorded arXiv days; then the time and memory of one large ranking.

Run: python bench/rank.py
Data: tests/data/scrapi_oai_dc_ListRecords_2014-12-24.xml, one real OAI-PMH ListRecords answer in
Dublin Core (897 records, datestamps 2014-12-24 and 2014-12-25, every arXiv archive). A task takes
a subfield: a fine one (a record's first dc:subject, e.g. "High Energy Physics - Theory") or a
group (the part before " - ", e.g. "Condensed Matter"), with at least 20 papers on the candidate
day and 10 as the first subject on the library day. A draw takes 15 of those as the library; the
candidates are the whole other day; a candidate is relevant when any of its subjects is in the
subfield. Both directions (24th -> 25th, 25th -> 24th), 3 draws per task; the figure is the mean
precision of the top 20.

- default: digest.select.rank.score_papers (TF-IDF, min_df=1, LinearSVC C=0.01), lexical only;
- default + wordllama: the same with `reader.embeddings: wordllama`;
- svm baseline: arxiv-sanity-lite's compute.py vectorizer (min_df=5, max_df=0.5, 10,000 features,
  words and word pairs) and its serve.py LinearSVC (class_weight="balanced", C=0.01), positives the
  library, negatives the candidates;
- mean similarity: each candidate's mean TF-IDF cosine to the library items.

Timing: a 500-entry library against 1,000 candidates (both drawn from the same 897 records, the
candidates with repeats: sizes and vocabulary are real, the draw is not a day), wall time of
score_papers after a warm-up, and the process's peak resident memory (resource.getrusage).
Target: under 2 s.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from oai_dc import DATA, Record, group, profile_of, read_oai_dc

from digest.models import Paper
from digest.select import stories
from digest.select.rank import paper_text, score_papers, svm_margins, vectorizer

LIBRARY_SIZE, DRAWS, TOP = 15, 3, 20


def baseline_svm(library: list[Paper], candidates: list[Paper]) -> np.ndarray:
    """arxiv-sanity-lite's ranking of `candidates` for a reader whose library is `library`."""
    tfidf = vectorizer(min_df=5)
    tfidf.set_params(max_features=10000)
    x = tfidf.fit_transform([paper_text(p) for p in library + candidates])
    return svm_margins(x[: len(library)], x[len(library) :])


def mean_similarity(library: list[Paper], candidates: list[Paper]) -> np.ndarray:
    """Each candidate's mean TF-IDF cosine to the library items."""
    x = vectorizer().fit_transform([paper_text(p) for p in library + candidates])
    return np.asarray((x[len(library) :] @ x[: len(library)].T).mean(axis=1)).ravel()


def default(embeddings: str | None):
    def rank(library: list[Paper], candidates: list[Paper]) -> np.ndarray:
        scores = score_papers(candidates, profile_of(library), stories.embed if embeddings else None) or {}
        return np.array([scores[p.arxiv_id].relevance for p in candidates])

    return rank


RANKERS = {
    "default": default(None),
    "default + wordllama": default("wordllama"),
    "svm baseline": baseline_svm,
    "mean similarity": mean_similarity,
}


class Task(NamedTuple):
    name: str
    pool: list[Paper]  # the library day's papers with the subfield as their first subject
    candidates: list[Paper]
    relevant: np.ndarray  # per candidate: in the subfield


def tasks(records: list[Record]) -> list[Task]:
    """Every (direction, subfield) with at least 20 relevant candidates and 10 library papers."""
    days = sorted({r.day for r in records})
    found = []
    for lib_day, cand_day in ((days[0], days[1]), (days[1], days[0])):
        cands = [r for r in records if r.day == cand_day]
        seen: set[str] = set()  # "Quantum Physics" is a subject and its own group
        for key in (lambda s: s, group):
            count = Counter(k for r in cands for k in {key(s) for s in r.subjects if s[:1].isalpha()})
            for name, n in sorted(count.items()):
                pool = [r.paper for r in records if r.day == lib_day and key(r.subjects[0]) == name]
                if n >= TOP and len(pool) >= 10 and name not in seen:
                    seen.add(name)
                    relevant = np.array([name in {key(s) for s in r.subjects} for r in cands])
                    found.append(Task(f"{lib_day}: {name}", pool, [r.paper for r in cands], relevant))
    return found


def precision(ranker, task: Task) -> float:
    """Mean precision@TOP of `ranker` over DRAWS libraries drawn from the task's pool."""
    hits = []
    for seed in range(DRAWS):
        draw = np.random.default_rng(seed).choice(len(task.pool), size=min(LIBRARY_SIZE, len(task.pool)), replace=False)
        scores = ranker([task.pool[i] for i in draw], task.candidates)
        hits.append(task.relevant[np.argsort(-scores, kind="stable")[:TOP]].mean())
    return float(np.mean(hits))


def timing(records: list[Record]) -> None:
    rng = np.random.default_rng(0)
    papers = [r.paper for r in records]
    library = [papers[i] for i in rng.choice(len(papers), 500, replace=False)]
    candidates = [
        p.model_copy(update={"arxiv_id": f"c{i}"})
        for i, p in enumerate(papers[j] for j in rng.choice(len(papers), 1000))
    ]
    score_papers(candidates[:50], profile_of(library[:20]))  # warm-up: imports and first calls
    start = time.perf_counter()
    score_papers(candidates, profile_of(library))
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n1,000 candidates x 500-entry library: {took:.2f} s (target < 2 s), peak RSS {peak:.0f} MB")


def main() -> None:
    records = read_oai_dc(DATA)
    found = tasks(records)
    print(f"{len(records)} records, {len(found)} tasks x {DRAWS} draws of {LIBRARY_SIZE}; precision@{TOP}")
    table = {name: [precision(r, t) for t in found] for name, r in RANKERS.items()}
    print(f"{'task':58s}" + "".join(f"{n:>22s}" for n in table))
    for i, task in enumerate(found):
        print(f"{task.name:58s}" + "".join(f"{v[i]:22.3f}" for v in table.values()))
    print(f"{'mean':58s}" + "".join(f"{np.mean(v):22.3f}" for v in table.values()))
    timing(records)


if __name__ == "__main__":
    main()
