"""Select stage: which fetched papers get written up (announce types, then the `papers.max` cap)."""

from __future__ import annotations

from digest.config import PapersConfig
from digest.models import Paper


def select_papers(papers: list[Paper], cfg: PapersConfig) -> list[Paper]:
    """Papers whose announce_type is configured, in announcement order, at most `cfg.max`."""
    return [p for p in papers if p.announce_type in cfg.announce_types][: cfg.max]
