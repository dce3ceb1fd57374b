"""The fields this project reads from feedparser's results, as typed dicts.

feedparser returns FeedParserDicts, plain dicts whose values it documents but does not type (a
type checker sees `str | list[FeedParserDict]` for every field). The entries and the feed header
enter the project through `entries` and `feed_header`, which name the documented shape of the
fields the parsers read; every field stays optional, as feedparser sets only those a feed has.
Field names are feedparser's (a namespaced element `arxiv:announce_type` becomes `arxiv_announce_type`).
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


class Entry(TypedDict, total=False):
    """One item or entry; `arxiv_announce_type` comes from arXiv's announcement feeds only."""

    id: str
    link: str
    title: str
    title_detail: Detail
    summary: str
    author: str
    tags: list[Tag]
    published_parsed: time.struct_time
    updated_parsed: time.struct_time
    arxiv_announce_type: str


class FeedHeader(TypedDict, total=False):
    """The channel or feed element."""

    published_parsed: time.struct_time


def parse(body: bytes) -> feedparser.FeedParserDict:
    """`body` parsed by feedparser, its content markup as the feed sent it: feedparser's own HTML
    sanitizer and relative-URI resolution are off, because digest.fetch.text reads that markup (drops
    hidden elements, then every tag with nh3) and feedparser's sanitizer strips the very marks of
    hidden text first (`aria-hidden`, `<template>`), so their text would read as visible. A feed's
    markup never reaches a page as markup."""
    return feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)


def entries(parsed: feedparser.FeedParserDict) -> list[Entry]:
    """The items of a parsed feed, in feed order."""
    # The one place feedparser's untyped entries are given their documented shape.
    return cast(list[Entry], parsed.entries)


def feed_header(parsed: feedparser.FeedParserDict) -> FeedHeader:
    """The channel (RSS) or feed (Atom) element of a parsed feed."""
    # The one place feedparser's untyped feed element is given its documented shape.
    return cast(FeedHeader, parsed.feed)
