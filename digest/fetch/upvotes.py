"""Hugging Face daily papers (huggingface.co/api/daily_papers): community upvotes per arXiv id,
used to rank the day's candidates when `papers.rank` is `upvotes`, and the code repositories
(`githubRepo`) the listing names.

The JSON is a list of entries, each with a `paper` object holding the arXiv `id`, `upvotes` and
perhaps `githubRepo`; anything else in it is ignored, and a body of another shape is an error,
never "no upvotes".
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple

from digest.config import PapersConfig
from digest.fetch.arxiv_parse import ArxivError, split_id
from digest.fetch.code import repository_url
from digest.fetch.result import SourceError, fetch_source
from digest.fetch.sources import Source
from digest.models import SourceStatus

SOURCE_NAME = "huggingface-daily-papers"


class UpvotesError(SourceError):
    """The body is not a daily-papers listing."""


class Listed(NamedTuple):
    """What the listing says of one paper."""

    upvotes: int
    code_url: str | None  # its `githubRepo`, normalized by repository_url; None when absent or not a repository


def parse_daily_papers(body: bytes) -> dict[str, Listed]:
    """arXiv id (without version) -> what the listing says of it. Raises UpvotesError for a body of
    another shape."""
    try:
        entries = json.loads(body)
    except ValueError as exc:
        raise UpvotesError(f"not JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise UpvotesError("not a list of daily papers")
    listed: dict[str, Listed] = {}
    for entry in entries:
        paper = entry.get("paper") if isinstance(entry, dict) else None
        if not isinstance(paper, dict) or not isinstance(paper.get("id"), str):
            continue
        try:
            arxiv_id = split_id(paper["id"])[0]
        except ArxivError:
            continue
        votes, repo = paper.get("upvotes"), paper.get("githubRepo")
        listed[arxiv_id] = Listed(
            votes if isinstance(votes, int) and votes >= 0 else 0,
            repository_url(repo) if isinstance(repo, str) else None,
        )
    return listed


def fetch_upvotes(
    cfg: PapersConfig, date: dt.date, source: Source
) -> tuple[dict[str, Listed] | None, list[SourceStatus]]:
    """What Hugging Face lists for `date` of each paper (None when `cfg.rank` does not use the
    listing or it failed) and the source's status (none when unused)."""
    if cfg.rank != "upvotes":
        return None, []
    result = fetch_source(
        source,
        SOURCE_NAME,
        cfg.upvotes_url.format(date=date.isoformat()),
        lambda resp: parse_daily_papers(resp.body),
        len,
    )
    return result.items, [result.status]
