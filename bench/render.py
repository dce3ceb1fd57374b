"""Render benchmark: a synthetic 1,000-paper, 50-topic digest against a normal 20-paper, 5-topic day.

Run: python bench/render.py
Prints, best of 3 runs each, the time to render the day page and every paper page, the day page's
size, the per-paper time ratio, and once the time to publish the large day to disk.
Target (from the page's requirements): the 1,000-paper day renders in under 1 s and its page
weighs under 4 MB on a 2-core machine. Past `site.inline_max` (100) papers the day page carries
the summaries and each paper page its review and research directions.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from digest.models import (
    REVIEW_PARTS,
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
    ReviewPoint,
    Section,
    SourceStatus,
    Topic,
)
from digest.render.html import render_page, render_paper_page, sanitized_cache_clear
from digest.render.publish import publish

PARAGRAPH = (
    "The authors propose a method for **efficient** long-context reasoning, evaluate it on three "
    "benchmarks and report consistent gains over strong baselines; see [the code](https://example.org). "
) * 3
NOW = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)


def _section(content) -> Section:
    return Section(
        status="ok",
        content=content,
        provenance=Provenance(models=["model-a"], prompt="task@1", input_kind="abstract", cached=True),
    )


def _text(i: int, part: str, chars: int = len(PARAGRAPH)) -> str:
    """PARAGRAPH made particular to paper `i` and `part`: no two papers share a text, as on a real day."""
    return f"In paper {i} ({part}): {PARAGRAPH}"[:chars]


def _writeup(i: int) -> PaperWriteup:
    """Paper i with a summary, review and directions of realistic length, each text distinct."""
    paper = Paper(
        arxiv_id=f"2604.{i:05d}",
        title=f"Paper {i}: a study of scaling laws",
        authors=["A. Author"] * 6,
        summary=_text(i, "abstract"),
        categories=["cs.LG", "cs.AI"],
        primary_category="cs.LG",
        abs_url=f"https://arxiv.org/abs/2604.{i:05d}",
        pdf_url=f"https://arxiv.org/pdf/2604.{i:05d}",
    )
    echo = {"arxiv_id": paper.arxiv_id, "title": paper.title}
    directions = {f: [_text(i, f"{f} {n}", 200) for n in range(3)] for f in ResearchDirections.model_fields}
    return PaperWriteup(
        paper=paper,
        summary=_section(PaperSummary(arxiv_id=paper.arxiv_id, title=paper.title, summary=_text(i, "summary"))),
        review=_section(PaperReview(**_review_parts(i) | echo)),
        directions=_section(ResearchDirections(**directions | echo)),
    )


def _review_parts(i: int) -> dict[str, list[ReviewPoint]]:
    """Three points per part (the default depth), each with a title, a text and a quote."""
    return {
        part: [
            ReviewPoint(
                title=f"Point {n} of {part}", text=_text(i, f"{part} {n}", 400), evidence=_text(i, "quote", 200)
            )
            for n in range(3)
        ]
        for part in REVIEW_PARTS
    }


def _topic(t: int, articles: int) -> Topic:
    """Topic t with `articles` articles and a commentary."""
    items = [
        Article(
            id=f"{t}-{a}",
            source="Feed",
            kind="news",
            title=f"Headline {t}.{a}",
            link=f"https://news.example/{t}/{a}",
            published=NOW,
            summary=_text(a, f"topic {t}", 300),
        )
        for a in range(articles)
    ]
    return Topic(
        title=f"Topic {t}",
        description="What happened in this area today.",
        articles=items,
        commentary=_section(Commentary(paragraphs=[_text(t, "commentary") + " [1]", _text(t, "more") + " [2]"])),
    )


def synthetic_digest(papers: int, topics: int, articles_per_topic: int = 8) -> Digest:
    writeups = [_writeup(i) for i in range(papers)]
    topic_list = [_topic(t, articles_per_topic) for t in range(topics)]
    return Digest(
        date=NOW.date(),
        generated_at=NOW,
        version="bench",
        papers=writeups,
        topics=topic_list,
        overview=_section(Overview(paragraphs=[PARAGRAPH + " [1]", PARAGRAPH + " [2]"])),
        sources=[SourceStatus(source="s", url="https://s.example", state="ok")],
    )


def best_of(n: int, digest: Digest) -> tuple[float, float, int, int]:
    """Best wall times (seconds) of `n` renders of the day page and of all its paper pages; the day
    page's size and the largest paper page's size (bytes, UTF-8)."""
    day_times, paper_times, size, largest = [], [], 0, 0
    for _ in range(n):
        sanitized_cache_clear()  # every run starts cold, as a build does
        start = time.perf_counter()
        html = render_page(digest)
        middle = time.perf_counter()
        papers = [render_paper_page(digest, w) for w in digest.papers]
        day_times.append(middle - start)
        paper_times.append(time.perf_counter() - middle)
        size, largest = len(html.encode("utf-8")), max(len(p.encode("utf-8")) for p in papers)
    return min(day_times), min(paper_times), size, largest


def publish_time(digest: Digest) -> float:
    """Seconds to publish `digest` into an empty folder: digest.json, the pages (each written with
    fsync and rename), the archive and the feed."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        publish(digest, Path(folder))
        return time.perf_counter() - start


def main() -> None:
    base_day, base_papers, base_size, base_paper = best_of(5, synthetic_digest(20, 5))
    large = synthetic_digest(1000, 50)
    big_day, big_papers, big_size, big_paper = best_of(5, large)
    print("render time of the day page, then of all its paper pages (best of 5):")
    print(
        f"baseline  20 papers,  5 topics: {base_day * 1000:7.1f} ms + {base_papers * 1000:7.1f} ms  "
        f"day page {base_size / 1e6:5.2f} MB (reviews folded inline), largest paper page {base_paper / 1e3:.0f} KB"
    )
    print(
        f"large   1000 papers, 50 topics: {big_day * 1000:7.1f} ms + {big_papers * 1000:7.1f} ms  "
        f"day page {big_size / 1e6:5.2f} MB (reviews on the paper pages), largest paper page {big_paper / 1e3:.0f} KB"
    )
    total, base_total = big_day + big_papers, base_day + base_papers
    print(f"per-paper time ratio, all pages (large/baseline): {(total / 1000) / (base_total / 20):.2f}")
    print(
        f"publishing the large day to disk (json, {len(large.papers) + 1} pages, archive, feed): "
        f"{publish_time(large):.2f} s"
    )
    print(
        f"target: the day page < 1000 ms and < 4 MB -> {'met' if big_day < 1 and big_size < 4e6 else 'NOT met'}; "
        f"with every paper page {total * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
