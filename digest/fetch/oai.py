"""arXiv's OAI-PMH interface (metadataPrefix=arXivRaw): the other way to backfill a past date
(`arxiv.backfill: oai`).

A ListRecords request with `set=cs`, `from` and `until` = the date lists the records arXiv made
public or changed that day: version 1 is a new paper, a later version a replacement. Pages are
chained by resumptionToken. OAI's own error answers are recognized: `noRecordsMatch` is an empty
day, any other code (badArgument, badResumptionToken, …) is an error, never an empty day.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from urllib.parse import urlencode

import lxml.etree as etree  # a module import: type checkers do not find the compiled etree in lxml

from digest.fetch.arxiv_parse import xml_root
from digest.fetch.result import SourceError
from digest.fetch.text import aimed_at_ai, clean_text
from digest.models import Paper, arxiv_links


class OaiError(SourceError):
    """An answer that is not OAI-PMH, or an OAI-PMH error other than noRecordsMatch."""


class OaiPage(NamedTuple):
    """One ListRecords page: its papers, and the resumption token of the next page (None on the last)."""

    papers: list[Paper]
    token: str | None


OAI = "{http://www.openarchives.org/OAI/2.0/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"


def list_records_url(base: str, set_spec: str, date: dt.date, token: str | None = None) -> str:
    """The ListRecords URL for `date` (or for the page after `token`, which carries the rest)."""
    if token:
        params = {"verb": "ListRecords", "resumptionToken": token}
    else:
        params = {
            "verb": "ListRecords",
            "metadataPrefix": "arXivRaw",
            "set": set_spec,
            "from": date.isoformat(),
            "until": date.isoformat(),
        }
    return f"{base}?{urlencode(params)}"


def parse_list_records(body: bytes) -> OaiPage:
    """The papers of one ListRecords page and the token of the next.

    Raises OaiError for a body that is not OAI-PMH or holds an error other than noRecordsMatch.
    """
    root = xml_root(body, f"{OAI}OAI-PMH", OaiError, "OAI-PMH answer")
    error = root.find(f"{OAI}error")
    if error is not None:
        if error.get("code") == "noRecordsMatch":
            return OaiPage([], None)
        raise OaiError(f"OAI-PMH error {error.get('code')}: {clean_text(error.text or '')}")
    papers = [p for p in (_paper(r) for r in root.iter(f"{OAI}record")) if p is not None]
    token = root.find(f"{OAI}ListRecords/{OAI}resumptionToken")
    return OaiPage(papers, token.text.strip() if token is not None and token.text and token.text.strip() else None)


def _paper(record: etree._Element) -> Paper | None:
    raw = record.find(f"{OAI}metadata/{RAW}arXivRaw")
    if raw is None:  # a deleted record has a header and no metadata
        return None

    def text(tag: str) -> str:
        return clean_text(raw.findtext(f"{RAW}{tag}") or "", html_markup=False)

    arxiv_id = text("id")
    versions = raw.findall(f"{RAW}version")
    version = int((versions[-1].get("version") or "v1").lstrip("v") or 1) if versions else 1
    categories = text("categories").split()
    title, abstract = text("title"), text("abstract")
    links = arxiv_links(arxiv_id)
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        authors=[a.strip() for a in text("authors").replace(" and ", ", ").split(",") if a.strip()],
        summary=abstract,
        categories=categories,
        primary_category=categories[0] if categories else "",
        announce_type="new" if version == 1 else "replace",
        comment=text("comments") or None,
        journal_ref=text("journal-ref") or None,
        doi=text("doi") or None,
        instructions_for_ai=aimed_at_ai(f"{title} {abstract}"),
        abs_url=links["abs_url"],
        pdf_url=links["pdf_url"],
    )
