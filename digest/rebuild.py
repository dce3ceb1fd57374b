"""What a rebuild of a published day keeps: it never replaces content with less.

`keep_published(new, published)` merges a rebuilt Digest with the published one of the same date:
- arXiv failed today (every arXiv source failed, nothing listed): the published papers stay, with
  their write-ups, updated and covered lists; the arXiv sources say they are stale.
- every news feed failed (no article): the published topics stay, likewise.
- a section that had content (ok, or unverified with text) and now has none keeps its published
  version, marked with when it was written (`Section.kept_from`) and why today's failed.
`unchanged_since` keeps the published time of a day that says the same again, and
`shortfall(new, published)` then says whether what is left is still less than the published day
(fewer papers, sections with content or articles): such a rebuild is not published unless the
operator says so (`--replace`).
"""

from __future__ import annotations

from digest.fetch.upvotes import SOURCE_NAME as UPVOTES_SOURCE
from digest.models import Digest, PaperWriteup, Section, SourceStatus, Topic

ARXIV_PREFIX = "arxiv"  # the source names of the arXiv requests: "arxiv-rss-cs.AI", "arxiv-api", "arxiv"


def keep_published(new: Digest, published: Digest | None) -> Digest:
    """`new` with what it lost kept from `published` (the same day as published); `new` itself when
    nothing was published for the day."""
    if published is None:
        return new
    update: dict = {}
    if _all_failed(new.sources, arxiv=True) and not new.papers and published.papers:
        update |= {
            "papers": published.papers,
            "updated": published.updated,
            "covered": published.covered,
            "backfilled": published.backfilled,
            "ranking": published.ranking,
            "sources": _stale(new.sources, published, arxiv=True),
        }
    else:
        update["papers"] = [_keep_writeup(w, published) for w in new.papers]
    if _all_failed(new.sources, arxiv=False) and not new.article_count and published.article_count:
        update |= {
            "topics": published.topics,
            "topic_plan_status": published.topic_plan_status,
            "sources": _stale(update.get("sources", new.sources), published, arxiv=False),
        }
    else:
        update["topics"] = [_keep_topic(t, published) for t in new.topics]
    kept_a_side = "ranking" in update or "topic_plan_status" in update
    if kept_a_side and published.overview.has_content:  # today's overview never saw the kept side
        update["overview"] = published.overview.model_copy(
            update={
                "kept_from": published.overview.kept_from or published.generated_at,
                "error": "kept with the published papers or news",
            }
        )
    else:
        update["overview"] = _keep(new.overview, published.overview, published)
    return new.model_copy(update=update)


def unchanged_since(new: Digest, published: Digest | None) -> Digest:
    """`new` with the published day's `generated_at` when it says exactly what the published page
    says (a rebuild from the cache): the page, its feed entry and their times then stay as they
    were, and feed readers see nothing new. What the run cost and which answers came from the cache
    are not what the page says."""
    if published is None or _said(new) != _said(published):
        return new
    return new.model_copy(update={"generated_at": published.generated_at})


def _said(digest: Digest) -> object:
    return _without(digest.model_dump(mode="json", exclude={"generated_at", "usage"}), "cached")


def _without(data: object, key: str) -> object:
    if isinstance(data, dict):
        return {k: _without(v, key) for k, v in data.items() if k != key}
    if isinstance(data, list):
        return [_without(v, key) for v in data]
    return data


def shortfall(new: Digest, published: Digest | None) -> str | None:
    """Why `new` has less than `published` (the day's published digest), or None when it has as much."""
    if published is None:
        return None
    counts = [
        (len(new.papers), len(published.papers), "papers written up"),
        (_with_content(new), _with_content(published), "sections with content"),
        (new.article_count, published.article_count, "news articles"),
    ]
    less = [f"{n} {what} where the published page has {p}" for n, p, what in counts if n < p]
    return "; ".join(less) or None


def _side(status: SourceStatus) -> str | None:
    """Which part of the day a source feeds: "arxiv" (the papers), "news" (a configured feed), or
    None (the Hugging Face ranking, a paper's full text: neither lists the day's items)."""
    if status.source.startswith(ARXIV_PREFIX):
        return "arxiv"
    if status.source == UPVOTES_SOURCE or status.source.startswith("fulltext-"):
        return None
    return "news"


def _all_failed(sources: list[SourceStatus], arxiv: bool) -> bool:
    chosen = [s for s in sources if _side(s) == ("arxiv" if arxiv else "news")]
    return bool(chosen) and all(s.state == "failed" for s in chosen)


def _stale(sources: list[SourceStatus], published: Digest, arxiv: bool) -> list[SourceStatus]:
    """`sources` with the failed ones of one side (arXiv or the feeds) marked as standing in for
    today with the published day's items."""
    return [
        s.model_copy(update={"state": "stale", "stale_from": published.generated_at.date()})
        if _side(s) == ("arxiv" if arxiv else "news") and s.state == "failed"
        else s
        for s in sources
    ]


def _keep(new: Section, old: Section | None, published: Digest) -> Section:
    """`new`, or `old` when `new` has no content and `old` had some (marked as kept, with the reason
    today's attempt failed)."""
    if new.content is not None or old is None or old.content is None:
        return new
    reasons = [old.error if old.status == "unverified" else None, f"today's rebuild could not write it: {new.error}"]
    return old.model_copy(
        update={"kept_from": old.kept_from or published.generated_at, "error": "; ".join(r for r in reasons if r)}
    )


def _keep_writeup(new: PaperWriteup, published: Digest) -> PaperWriteup:
    old = next(
        (
            w
            for w in published.papers
            if w.paper.arxiv_id == new.paper.arxiv_id and w.paper.summary == new.paper.summary
        ),
        None,
    )  # the same abstract: the same paper to write up
    if old is None:
        return new
    kept = old.sections()
    return new.model_copy(
        update={name: _keep(section, kept[name], published) for name, section in new.sections().items()}
    )


def _keep_topic(new: Topic, published: Digest) -> Topic:
    ids = {a.id for a in new.articles}
    old = next((t for t in published.topics if {a.id for a in t.articles} == ids), None)
    if old is None:
        return new
    return new.model_copy(update={"commentary": _keep(new.commentary, old.commentary, published)})


def _with_content(digest: Digest) -> int:
    sections = [s for w in digest.papers for s in w.sections().values()]
    sections += [t.commentary for t in digest.topics] + [digest.overview]
    return sum(s.has_content for s in sections)
