"""The fields this project reads from feedparser's results, as typed dicts.

feedparser returns FeedParserDicts, plain dicts whose values it documents but does not type (a
type checker sees `str | list[FeedParserDict]` for every field). The entries and the feed header
enter the project through `entries` and `feed_header`, which name the documented shape of the
fields the parsers read; every field stays optional, as feedparser sets only those a feed has.
Field names are feedparser's (a namespaced element `arxiv:comment` becomes `arxiv_comment`).
"""

from __future__ import annotations

import time
from typing import TypedDict, cast

import feedparser


class Detail(TypedDict, total=False):
    """A text construct's metadata (`title_detail`): `type` is its MIME type, "text/plain" or
    "text/html"."""

    type: str
    value: str


class Tag(TypedDict, total=False):
    """A category (`tags`): `term` is None when the element has no term."""

    term: str | None
    scheme: str | None
    label: str | None


class Author(TypedDict, total=False):
    """One of an Atom entry's `authors`."""

    name: str


class ArxivCategory(TypedDict, total=False):
    """The attributes of the arXiv API's `arxiv:primary_category` element."""

    term: str
    scheme: str


class Entry(TypedDict, total=False):
    """One item or entry; the `arxiv_*` fields come from arXiv's feeds and export API only."""

    id: str
    link: str
    title: str
    title_detail: Detail
    summary: str
    author: str
    authors: list[Author]
    tags: list[Tag]
    published_parsed: time.struct_time
    updated_parsed: time.struct_time
    arxiv_announce_type: str
    arxiv_primary_category: ArxivCategory
    arxiv_comment: str
    arxiv_journal_ref: str
    arxiv_doi: str


class FeedHeader(TypedDict, total=False):
    """The channel or feed element; `opensearch_totalresults` is the export API's match count, as text."""

    published_parsed: time.struct_time
    opensearch_totalresults: str


def entries(parsed: feedparser.FeedParserDict) -> list[Entry]:
    """The items of a parsed feed, in feed order."""
    # The one place feedparser's untyped entries are given their documented shape.
    return cast(list[Entry], parsed.entries)


def feed_header(parsed: feedparser.FeedParserDict) -> FeedHeader:
    """The channel (RSS) or feed (Atom) element of a parsed feed."""
    # The one place feedparser's untyped feed element is given its documented shape.
    return cast(FeedHeader, parsed.feed)
