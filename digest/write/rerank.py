"""The optional re-rank of `reader.rerank: true`: the triage model reads the closest candidates (the
`RERANK_FACTOR` x `papers.max` with the highest lexical relevance) against the reader's interests and
avoid phrases, in batches of `papers.triage_batch`, scores joined to papers by number (never by
position). A re-ranked paper's relevance is the mean of its lexical relevance and the model's score
/ 10, and its why says what the model gave it; the other candidates keep theirs. A failed batch
keeps its papers' lexical relevance, and the ranking says so.
"""

from __future__ import annotations

from digest.config import PapersConfig
from digest.llm.prompts import load_prompt
from digest.models import Paper, Relevance, TriageScores
from digest.select.reader import ReaderConfig
from digest.write.section import Desk, in_batches

RERANK_FACTOR = 2  # the re-ranked: twice as many as are written up, so a paper can rise into them
ABSTRACT_CHARS = 700


async def _scores(batch: list[Paper], reader: ReaderConfig, desk: Desk) -> dict[str, int]:
    """arXiv id -> the model's 1..10 for the papers of `batch` it scored. Raises LLMError."""
    numbered = [{"number": i, "title": p.title, "abstract": p.summary[:ABSTRACT_CHARS]} for i, p in enumerate(batch, 1)]
    done = await desk.llm.complete(
        desk.endpoint.models.triage,
        load_prompt("rerank"),
        TriageScores,
        papers=numbered,
        interests=reader.interests or "",
        avoid=reader.avoid or "",
        date=desk.date.isoformat(),
    )
    scores: dict[str, int] = {}
    for entry in done.value.scores:
        if 1 <= entry.number <= len(batch):
            scores.setdefault(batch[entry.number - 1].arxiv_id, entry.score)
    return scores


async def rerank(
    papers: list[Paper], relevance: dict[str, Relevance], reader: ReaderConfig, cfg: PapersConfig, desk: Desk
) -> tuple[dict[str, Relevance], str | None]:
    """`relevance` (arXiv id -> Relevance of every paper of `papers`) with the closest re-ranked by
    the triage model, and what failed (None: every batch answered)."""
    closest = sorted(papers, key=lambda p: -relevance[p.arxiv_id].relevance)[: RERANK_FACTOR * cfg.max]
    scores, errors, batches = await in_batches(lambda b: _scores(b, reader, desk), closest, cfg.triage_batch)
    model = desk.endpoint.models.triage
    reranked = dict(relevance)
    for arxiv_id, score in scores.items():
        lexical = relevance[arxiv_id]
        why = f"{lexical.why}; {model} rates it {score}/10 for your interests"
        reranked[arxiv_id] = Relevance(relevance=round((lexical.relevance + score / 10) / 2, 4), why=why)
    return reranked, (f"{len(errors)} of {batches} re-rank batches failed: {errors[0]}" if errors else None)
