"""The recorded OAI-PMH ListRecords answer in Dublin Core (tests/data/scrapi_oai_dc_ListRecords_2014-12-24.xml:
897 real arXiv records stamped 2014-12-24 and 2014-12-25) as records labelled with their subjects, for the
reader-relevance tests and bench/rank.py: a record's dc:subject values say which papers a subfield's reader
would want."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

import lxml.etree as etree

from digest.fetch.arxiv_parse import split_id, xml_root
from digest.fetch.oai import OaiError
from digest.fetch.text import clean_text
from digest.models import Paper, arxiv_links
from digest.select.reader import FollowedAuthors, LibraryItem, Profile

DATA = Path(__file__).parent / "data" / "scrapi_oai_dc_ListRecords_2014-12-24.xml"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"


class Record(NamedTuple):
    """One OAI-DC record: the day it was stamped, its dc:subject values (first = primary), the paper."""

    day: dt.date
    subjects: list[str]
    paper: Paper


def _person(creator: str) -> str:
    """OAI-DC writes "Surname, Given"; arXiv's other interfaces write "Given Surname"."""
    surname, _, given = creator.partition(",")
    return f"{given.strip()} {surname.strip()}".strip()


def _record(record: etree._Element) -> Record | None:
    dc = record.find(f"{OAI}metadata")
    if dc is None or not len(dc):  # a deleted record has a header only
        return None
    dc = dc[0]
    ident = next(i.text for i in dc.iter(f"{DC}identifier") if (i.text or "").startswith("http://arxiv.org/abs/"))
    arxiv_id, version = split_id(ident)
    texts = lambda tag: [clean_text(e.text or "", html_markup=False) for e in dc.iter(f"{DC}{tag}")]  # noqa: E731
    paper = Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=texts("title")[0],
        authors=[_person(c) for c in texts("creator")],
        summary=texts("description")[0],
        abs_url=arxiv_links(arxiv_id)["abs_url"],
        pdf_url=arxiv_links(arxiv_id)["pdf_url"],
    )
    day = dt.date.fromisoformat(record.findtext(f"{OAI}header/{OAI}datestamp") or "")
    return Record(day, texts("subject"), paper)


def read_oai_dc(path: Path) -> list[Record]:
    """The records of an OAI-PMH ListRecords answer in Dublin Core (metadataPrefix=oai_dc), in order.
    Raises OaiError for a body that is not OAI-PMH, StopIteration for a record without an arXiv abs URL."""
    root = xml_root(path.read_bytes(), f"{OAI}OAI-PMH", OaiError, str(path))
    return [r for r in map(_record, root.iter(f"{OAI}record")) if r is not None]


def group(subject: str) -> str:
    """The archive group of a dc:subject: "Condensed Matter - Quantum Gases" -> "Condensed Matter"."""
    return subject.split(" - ")[0]


def profile_of(papers: list[Paper]) -> Profile:
    """A profile whose library is `papers` and nothing else."""
    return Profile([LibraryItem(p.arxiv_id, p.title, p.summary) for p in papers], FollowedAuthors([]), [], [])
