"""Render benchmark: a synthetic 1,000-paper, 50-topic digest against a normal 20-paper, 5-topic day.

Run: python bench/render.py
Prints render time and page size for both and the per-paper time ratio, best of 3 runs each.
Target (from the page's requirements): the 1,000-paper page renders in under 1 s and weighs
under 4 MB on a 2-core machine.
"""

from __future__ import annotations

import datetime as dt
import time

from digest.models import (
    Article,
    Commentary,
    Digest,
    Overview,
    Paper,
    PaperReview,
    PaperSummary,
    PaperWriteup,
    Provenance,
    ResearchDirections,
    Section,
    SourceStatus,
    Topic,
)
from digest.render.html import render_page

PARAGRAPH = ("The authors propose a method for **efficient** long-context reasoning, evaluate it on three "
             "benchmarks and report consistent gains over strong baselines; see [the code](https://example.org). ") * 3
NOW = dt.datetime(2026, 4, 30, 6, tzinfo=dt.timezone.utc)


def _section(content) -> Section:
    return Section(status="ok", content=content,
                   provenance=Provenance(models=["model-a"], prompt="task@1", input_kind="abstract", cached=True))


def synthetic_digest(papers: int, topics: int, articles_per_topic: int = 8) -> Digest:
    writeups = []
    for i in range(papers):
        paper = Paper(arxiv_id=f"2604.{i:05d}", title=f"Paper {i}: a study of scaling laws", authors=["A. Author"] * 6,
                      summary=PARAGRAPH, categories=["cs.LG", "cs.AI"], primary_category="cs.LG",
                      abs_url=f"https://arxiv.org/abs/2604.{i:05d}", pdf_url=f"https://arxiv.org/pdf/2604.{i:05d}")
        echo = {"arxiv_id": paper.arxiv_id, "title": paper.title}
        writeups.append(PaperWriteup(
            paper=paper, summary=_section(PaperSummary(arxiv_id=paper.arxiv_id, title=paper.title, summary=PARAGRAPH)),
            review=_section(PaperReview(**{f: PARAGRAPH for f in PaperReview.model_fields} | echo)),
            directions=_section(ResearchDirections(**{f: [PARAGRAPH[:200]] * 3 for f in ResearchDirections.model_fields}
                                                   | echo)),
        ))
    topic_list = [
        Topic(title=f"Topic {t}", description="What happened in this area today.",
              articles=[Article(id=f"{t}-{a}", source="Feed", kind="news", title=f"Headline {t}.{a}",
                                link=f"https://news.example/{t}/{a}", published=NOW, summary=PARAGRAPH[:300])
                        for a in range(articles_per_topic)],
              commentary=_section(Commentary(commentary=PARAGRAPH * 2)))
        for t in range(topics)
    ]
    return Digest(date=NOW.date(), generated_at=NOW, version="bench", papers=writeups, topics=topic_list,
                  overview=_section(Overview(overview=PARAGRAPH * 2)),
                  sources=[SourceStatus(source="s", url="https://s.example", state="ok")])


def best_of(n: int, digest: Digest) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(n):
        start = time.perf_counter()
        html = render_page(digest)
        times.append(time.perf_counter() - start)
        size = len(html.encode("utf-8"))
    return min(times), size


def main() -> None:
    base_t, base_size = best_of(3, synthetic_digest(20, 5))
    big_t, big_size = best_of(3, synthetic_digest(1000, 50))
    print(f"baseline  20 papers,  5 topics: {base_t * 1000:8.1f} ms  {base_size / 1e6:6.2f} MB")
    print(f"large   1000 papers, 50 topics: {big_t * 1000:8.1f} ms  {big_size / 1e6:6.2f} MB")
    print(f"per-paper time ratio (large/baseline): {(big_t / 1000) / (base_t / 20):.2f}")
    print(f"target: < 1000 ms and < 4 MB -> {'met' if big_t < 1 and big_size < 4e6 else 'NOT met'}")


if __name__ == "__main__":
    main()
