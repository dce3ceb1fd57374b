"""The papers a reader profile names by arXiv id (`reader.papers`): their titles and abstracts from
the export API's `id_list` query, asked for only the ids not yet kept in <data>/reader-papers.json,
so a nightly build asks arXiv nothing once the profile's papers are known. The request is paced like
every arXiv request (3 s apart, arXiv's API terms) and stored with the day's raw responses, so a
replay reads it too. An id arXiv does not know is a warning, and the rest of the profile is used.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlencode

from pydantic import TypeAdapter, ValidationError

from digest.config import ArxivConfig
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.result import fetch_source
from digest.fetch.sources import Pacer, Source
from digest.files import write_atomic
from digest.models import Paper, SourceStatus

log = logging.getLogger(__name__)
SOURCE_NAME = "arxiv-reader-papers"
KEPT = "reader-papers.json"
_PAPERS = TypeAdapter(dict[str, Paper])


def _kept(data: Path) -> dict[str, Paper]:
    """The papers kept from earlier runs by arXiv id; none when the file is missing or unreadable
    (it is a cache: asking arXiv again mends it)."""
    try:
        return _PAPERS.validate_json((data / KEPT).read_bytes())
    except (OSError, ValidationError):
        return {}


def profile_papers(
    ids: list[str], cfg: ArxivConfig, source: Source, pacer: Pacer, data: Path
) -> tuple[list[Paper], list[SourceStatus]]:
    """The Papers of `ids` (in their order; unknown ids left out with a warning) and the status of
    the one export-API request made for the ids not kept yet (none when every id was kept)."""
    kept = _kept(data)
    missing = [i for i in dict.fromkeys(ids) if i not in kept]
    statuses = []
    if missing:
        url = f"{cfg.api_url}?{urlencode({'id_list': ','.join(missing), 'max_results': len(missing)})}"
        result = fetch_source(source, SOURCE_NAME, url, lambda resp: parse_api(resp.body), len, pacer=pacer)
        statuses.append(result.status)
        found = {p.arxiv_id: p for p in result.items or []}
        for arxiv_id in missing:
            if arxiv_id not in found and result.items is not None:
                log.warning("reader.papers: arXiv knows no paper %s; the rest of the profile is used", arxiv_id)
        if found:
            kept |= found
            write_atomic(data / KEPT, json.dumps({k: p.model_dump(mode="json") for k, p in kept.items()}))
    return [kept[i] for i in dict.fromkeys(ids) if i in kept], statuses
