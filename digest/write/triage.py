"""Ranking: when there are more candidate papers than `papers.max`, either Hugging Face daily
papers upvotes order them, or a cheap triage model scores titles and abstracts in batches; the
best are written up.

Scores are joined to papers by the number each batch gave them, never by position; numbers the
model invents are ignored, papers it leaves out score 0. A failed batch costs nothing but its
ranking: its papers keep score 0, ties keep announcement order, and the digest says so.
"""

from __future__ import annotations

from digest.config import PapersConfig
from digest.llm.prompts import load_prompt
from digest.models import Paper, Ranking, Relevance, TriageScores
from digest.select.reader import ReaderConfig
from digest.write.rerank import rerank
from digest.write.section import Desk, in_batches

EMPTY_PROFILE = "the reader profile is empty: set reader.library, papers, authors or interests"
ABSTRACT_CHARS = 700  # enough to judge a paper; keeps a 25-paper batch near 5,000 prompt tokens


async def _score_batch(batch: list[Paper], desk: Desk) -> dict[str, int]:
    """arXiv id -> score (1..10) for the papers of `batch` the model scored. Raises LLMError."""
    numbered = [{"number": i, "title": p.title, "abstract": p.summary[:ABSTRACT_CHARS]} for i, p in enumerate(batch, 1)]
    done = await desk.llm.complete(
        desk.endpoint.models.triage, load_prompt("triage"), TriageScores, papers=numbered, date=desk.date.isoformat()
    )
    scores: dict[str, int] = {}
    for entry in done.value.scores:
        if 1 <= entry.number <= len(batch):
            scores.setdefault(batch[entry.number - 1].arxiv_id, entry.score)
    return scores


def rank_without_model(
    papers: list[Paper],
    cfg: PapersConfig,
    upvotes: dict[str, int] | None = None,
    relevance: dict[str, Relevance] | None = None,
) -> Ranking | None:
    """The Ranking of `papers` (announcement order in) when no model is needed: every candidate
    fits, `cfg.rank` is announcement order, upvotes order them (arXiv id -> Hugging Face upvotes;
    None when the listing failed), or the reader profile does (`relevance`, arXiv id -> Relevance;
    None for an empty profile, which falls back to triage). None when the triage model must score them."""
    if cfg.rank == "reader" and relevance is not None:
        ranked = sorted(papers, key=lambda p: -relevance[p.arxiv_id].relevance)  # stable: ties keep announcement order
        return Ranking(
            papers=ranked[: cfg.max],
            method=f"the {min(cfg.max, len(papers))} closest to your reader profile of {len(papers)}",
        )
    if cfg.rank == "reader" and len(papers) <= cfg.max:
        return Ranking(papers=papers, method=f"announcement order ({EMPTY_PROFILE})")
    if cfg.rank == "announcement" or len(papers) <= cfg.max:
        return Ranking(papers=papers[: cfg.max])
    if cfg.rank == "upvotes":
        if upvotes is None:
            return Ranking(papers=papers[: cfg.max], error="the Hugging Face daily papers could not be read")
        ranked = sorted(papers, key=lambda p: -upvotes.get(p.arxiv_id, 0))  # stable: ties keep announcement order
        return Ranking(
            papers=ranked[: cfg.max], method=f"the {cfg.max} most upvoted of {len(papers)} on Hugging Face daily papers"
        )
    return None


async def rank_papers(
    papers: list[Paper],
    cfg: PapersConfig,
    desk: Desk,
    upvotes: dict[str, int] | None = None,
    relevance: dict[str, Relevance] | None = None,
    reader: ReaderConfig | None = None,
) -> Ranking:
    """At most `cfg.max` of `papers` (announcement order in), best first when ranking applies:
    by `upvotes` or `relevance` (rank_without_model; re-ranked by the triage model first when
    `reader.rerank`, digest.write.rerank) or by the triage model's scores in batches."""
    error = None
    if cfg.rank == "reader" and relevance is not None and reader is not None and reader.rerank:
        relevance, error = await rerank(papers, relevance, reader, cfg, desk)
    ranking = rank_without_model(papers, cfg, upvotes, relevance)
    if ranking is not None:
        return ranking.model_copy(update={"relevance": relevance, "error": error})
    model = desk.endpoint.models.triage
    scores, errors, batches = await in_batches(lambda batch: _score_batch(batch, desk), papers, cfg.triage_batch)
    ranked = sorted(papers, key=lambda p: -scores.get(p.arxiv_id, 0))  # stable: ties keep announcement order
    error = f"{len(errors)} of {batches} triage batches failed: {errors[0]}" if errors else None
    method = f"the {cfg.max} best of {len(papers)} as scored by {model}"
    if cfg.rank == "reader":  # an empty profile
        method += f" ({EMPTY_PROFILE})"
    return Ranking(papers=ranked[: cfg.max], method=method, error=error)
