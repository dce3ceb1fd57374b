"""What the pages say in words rather than markup: what a section was written from, and the
state of the day's arXiv sources (no mailing, nothing could be fetched, a backfill that listed
papers). Counts are said by digest.words.plural, as on the command line.

Shared by the day page, the paper pages and the archive, so each wording exists once.
"""

from __future__ import annotations

from digest.models import Digest, SourceStatus

# The one status digest.fetch.arxiv.fetch_papers records for a date without a mailing (a
# weekend day or an `arxiv.holidays` date): source "arxiv", state "empty", and no request made.
NO_MAILING_SOURCE = "arxiv"
# The arXiv requests' source names: "arxiv-rss-<category>", "arxiv-api", "arxiv-oai".
ARXIV_PREFIX = "arxiv-"
ARXIV_SERVICES = {"arxiv-api": "the arXiv export API", "arxiv-oai": "arXiv's OAI-PMH interface"}
# The label beside a review point's evidence quote that digest.write.quotes did not find in the text
# the model read (ReviewPoint.evidence_found False).
QUOTE_NOT_FOUND = "quote not found"
FROM_WHAT = {
    "abstract": "the abstract",
    "fulltext": "the full text",
    "articles": "the linked articles",
    "digest": "today's papers and news",
}


def from_what(input_kind: str) -> str:
    """What a section was written from, for a reader: 'fulltext' -> 'the full text' (the kinds of
    Provenance.input_kind). Raises KeyError for a kind the page has no wording for."""
    return FROM_WHAT[input_kind]


def no_mailing(digest: Digest) -> str | None:
    """'Saturday', 'Sunday' or 'holiday' when arXiv had no mailing dated `digest.date` (the fetch
    stage's NO_MAILING_SOURCE status says so), else None. A configured holiday on a weekend day is
    named by its weekday."""
    if not any(s.source == NO_MAILING_SOURCE and s.state == "empty" for s in digest.sources):
        return None
    return f"{digest.date:%A}" if digest.date.weekday() >= 5 else "holiday"


def arxiv_failures(digest: Digest) -> list[SourceStatus]:
    """The arXiv sources (announcement feeds, export API, OAI-PMH) that could not be read."""
    return [s for s in digest.sources if s.source.startswith(ARXIV_PREFIX) and s.state == "failed"]


def source_label(status: SourceStatus) -> str:
    """A source's name for a reader: "arXiv's cs.AI announcement feed", 'the arXiv export API',
    "arXiv's OAI-PMH interface", 'the full text of arXiv:2604.00001'; a news feed keeps its configured name."""
    name = status.source
    if name.startswith("fulltext-"):
        return f"the full text of arXiv:{name.removeprefix('fulltext-')}"
    if name.startswith(ARXIV_PREFIX + "rss-"):
        return f"arXiv's {name.removeprefix(ARXIV_PREFIX + 'rss-')} announcement feed"
    return ARXIV_SERVICES.get(name, name)


def lists_backfilled_papers(digest: Digest) -> bool:
    """Whether the page lists papers that a backfill found (written up, updated or covered before);
    a backfill that found none, or failed, lists nothing to mark."""
    return digest.backfilled and bool(digest.papers or digest.updated or digest.covered)
