"""Full text of the papers chosen for write-ups (`papers.fulltext`): arXiv's HTML rendering when
it exists, else the PDF's text (pypdf), as plain text cut to `papers.fulltext_chars`.

Every request goes through the source like any other arXiv request, after the shared Pacer
(arXiv's terms: one request every 3 s), so a day's full texts cost about 3 s per paper. A paper
whose full text cannot be had keeps its abstract, and its write-up says it read the abstract.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import lxml.etree
import lxml.html
import pypdf
from pypdf.errors import PdfReadError

from digest.config import ArxivConfig, PapersConfig
from digest.fetch.result import SourceError, fetch_source
from digest.fetch.sources import NOT_STORED, Pacer, Source
from digest.fetch.store import RawResponse
from digest.fetch.text import clean_text
from digest.models import Paper, SourceStatus

log = logging.getLogger(__name__)

MIN_CHARS = 2000  # less is a stub page or a scanned PDF, not the paper
MAX_PDF_PAGES = 40
# Page furniture, references and maths markup: words a model should not spend its window on.
_DROP = (
    "//script",
    "//style",
    "//nav",
    "//header",
    "//footer",
    "//math",
    "//*[contains(@class, 'ltx_bibliography')]",
    "//*[contains(@class, 'ltx_page_footer')]",
    "//*[contains(@class, 'ltx_authors')]",
)


class FulltextError(SourceError):
    """A body that holds no usable paper text."""


def html_text(body: bytes) -> str:
    """The readable text of an arXiv HTML paper. Raises FulltextError when there is too little."""
    try:
        root = lxml.html.fromstring(body)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise FulltextError(f"not HTML: {exc}") from exc
    for path in _DROP:
        for node in root.xpath(path):
            node.drop_tree()
    article = root.xpath("//article") or [root]
    return _enough(clean_text(article[0].text_content(), html_markup=False))


def pdf_text(body: bytes, max_pages: int = MAX_PDF_PAGES) -> str:
    """The text of the first `max_pages` pages of a PDF. Raises FulltextError for a body that is
    not a readable PDF or holds too little text (a scan)."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages[:max_pages]]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise FulltextError(f"not a readable PDF: {exc}") from exc
    return _enough(clean_text(" ".join(pages), html_markup=False))


def _enough(text: str) -> str:
    if len(text) < MIN_CHARS:
        raise FulltextError(f"only {len(text)} characters of text")
    return text


def _attempts(paper: Paper, mode: str, arxiv: ArxivConfig) -> list[tuple[str, str, Callable[[RawResponse], str]]]:
    """(kind, URL, how its response is read) of each place to look, in order."""
    pdf = ("pdf", arxiv.pdf_url.format(id=paper.arxiv_id, version=paper.version), lambda resp: pdf_text(resp.body))
    if mode == "pdf":
        return [pdf]
    html = ("html", arxiv.html_url.format(id=paper.arxiv_id, version=paper.version), lambda resp: html_text(resp.body))
    return [html, pdf]


def with_fulltext(paper: Paper, cfg: PapersConfig, arxiv: ArxivConfig, source: Source, pacer: Pacer) -> Paper:
    """`paper` with `fulltext` (at most `cfg.fulltext_chars` characters) and `fulltext_source`
    set, or unchanged when no attempt gives usable text (the reason is logged)."""
    reasons = []
    for kind, url, read in _attempts(paper, cfg.fulltext, arxiv):
        result = fetch_source(
            source,
            f"fulltext-{kind}-{paper.arxiv_id}",
            url,
            read,
            lambda text: 1,  # one text
            pacer=pacer,
        )
        if result.items is None:  # failed
            reasons.append(f"{kind}: {result.status.reason}")
            continue
        return paper.model_copy(update={"fulltext": result.items[: cfg.fulltext_chars], "fulltext_source": kind})
    log.info("paper %s: abstract only (%s)", paper.arxiv_id, "; ".join(reasons))
    return paper


def fetch_fulltexts(
    papers: list[Paper], cfg: PapersConfig, arxiv: ArxivConfig, source: Source, pacer: Pacer
) -> list[Paper]:
    """`papers` with their full texts when `cfg.fulltext` asks for them (one paper at a time:
    arXiv allows one connection)."""
    if cfg.fulltext == "abstract":
        return papers
    return [with_fulltext(p, cfg, arxiv, source, pacer) for p in papers]


def missing_in_snapshot(
    papers: list[Paper], cfg: PapersConfig, arxiv: ArxivConfig, source: Source
) -> list[SourceStatus]:
    """For a replay (`source` not live) that `cfg.fulltext` asks to read papers: a failed status
    for each of `papers` (after fetch_fulltexts) written from its abstract because the snapshot
    holds none of its full-text responses, so the run reports what the replay could not read."""
    if cfg.fulltext == "abstract" or source.live:
        return []
    missing = []
    for paper in papers:
        attempts = _attempts(paper, cfg.fulltext, arxiv)
        if paper.fulltext is None and all(
            source.get(f"fulltext-{kind}-{paper.arxiv_id}", url).error == NOT_STORED for kind, url, _ in attempts
        ):
            missing.append(
                SourceStatus(
                    source=f"fulltext-{paper.arxiv_id}",
                    url=attempts[0][1],
                    state="failed",
                    reason="the snapshot holds no full text of it: written from the abstract",
                )
            )
    return missing
