"""What a notification says about a published day: its subject, the e-mail's HTML (the stylesheet
inlined with css-inline, for mail clients that drop <style>) and plain-text parts, and the short
Markdown a chat target gets.

Everything is read from the published `Digest`; the links are absolute, built on `site.url` the
way the page forms its anchors (digest.render.html: paper_anchor, topic_anchors), so each one
opens the day's page at the paper or topic it names.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from importlib import resources

import cmarkgfm
import css_inline
import jinja2

from digest.deliver.settings import APP_NAME
from digest.fetch.text import clean_text
from digest.models import Digest, PaperWriteup
from digest.render.html import paper_anchor, topic_anchors
from digest.words import plural

EMAIL_PAPERS = 10  # the top papers an e-mail lists, in the page's order
CHAT_PAPERS = 5  # a chat message stays short: the first papers' titles only
ONE_LINE_CHARS = 200  # a paper's line in the e-mail: its summary cut at a word
DEGRADED = "Some sources or sections failed today: the page marks each one."
# CommonMark's punctuation that could open a link, emphasis, code or a heading inside a title.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()#<>!|~])")


@dataclass(frozen=True)
class Item:
    """One linked line of a message: a paper or a topic, its absolute URL, what it says (plain text) and,
    for a paper a reader profile chose, why (digest.select.rank's one line; "" without one)."""

    title: str
    url: str
    line: str
    why: str = ""


@dataclass(frozen=True)
class Message:
    """One day's notification in every form a target takes: `html` and `text` are the two parts of
    an e-mail (multipart/alternative), `markdown` the chat message sent under `subject`; all link
    to `page`, the day's page (absolute URL)."""

    subject: str
    page: str
    html: str
    text: str
    markdown: str


def long_date(day: dt.date) -> str:
    """'Monday 23 February 2026', the date as a subject line says it."""
    return f"{day:%A} {day.day} {day:%B} {day.year}"


def subject(digest: Digest, degraded: bool) -> str:
    """'PaperBot Daily Digest — Monday 23 February 2026', with ' (degraded)' for a degraded day."""
    return f"{APP_NAME} — {long_date(digest.date)}" + (" (degraded)" if degraded else "")


def day_url(site_url: str, day: dt.date) -> str:
    """The absolute URL of a day's page under `site_url` (the output folder's public URL): the
    day's folder, as feed.xml links it ('https://example.org/digest/2026-04-30/')."""
    return f"{site_url.rstrip('/')}/{day.isoformat()}/"


def one_line(writeup: PaperWriteup) -> str:
    """A paper's line in the e-mail, plain text of at most ONE_LINE_CHARS characters: its
    plain-language summary when that passed its checks, else the start of its abstract, said so."""
    content = writeup.summary.content
    if writeup.summary.status == "ok" and content is not None:
        # The summary is Markdown: as HTML first, so that clean_text keeps only its words.
        return clean_text(cmarkgfm.markdown_to_html(content.summary), ONE_LINE_CHARS)
    return clean_text("From the abstract: " + writeup.paper.summary, ONE_LINE_CHARS, html_markup=False)


def paper_items(digest: Digest, page: str, count: int) -> list[Item]:
    """The first `count` papers of the day (the page's order: the ranking's), each linked to its
    place on the page `page`, with why a reader profile chose it."""
    return [
        Item(
            w.paper.title,
            f"{page}#{paper_anchor(w.paper.arxiv_id)}",
            one_line(w),
            w.relevance.why if w.relevance else "",
        )
        for w in digest.papers[:count]
    ]


def topic_items(digest: Digest, page: str) -> list[Item]:
    """Every topic of the day with its one-line description, linked to its place on `page`."""
    anchors = topic_anchors([t.title for t in digest.topics])
    return [
        Item(t.title, f"{page}#{anchor}", clean_text(t.description, html_markup=False))
        for t, anchor in zip(digest.topics, anchors, strict=True)
    ]


def markdown_text(text: str) -> str:
    """`text` (a title from arXiv or a feed) as literal CommonMark: its punctuation escaped, so a
    bracket or an asterisk cannot break the link it stands in."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


@functools.cache
def _environment() -> jinja2.Environment:
    """The message templates: HTML ones autoescaped, plain text and Markdown as written."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("digest", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(plural=plural, md=markdown_text)
    return env


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    css = resources.files("digest").joinpath("templates", "email.css").read_text(encoding="utf-8")
    # Nothing is fetched while inlining: the message carries its one stylesheet.
    return css_inline.CSSInliner(extra_css=css, load_remote_stylesheets=False)


def build_message(digest: Digest, site_url: str, degraded: bool) -> Message:
    """The notification of the published `digest`, linked under `site_url` (the output folder's
    public URL, absolute http(s), as `site.url` holds it); `degraded` adds it to the subject and
    says so in the text."""
    page = day_url(site_url, digest.date)
    values = {
        "subject": subject(digest, degraded),
        "date": long_date(digest.date),
        "page": page,
        "degraded": DEGRADED if degraded else None,
        "counts": (
            f"{plural(len(digest.papers), 'paper')} · {plural(digest.article_count, 'news article')} · "
            f"{plural(len(digest.topics), 'topic')}"
        ),
        "papers": paper_items(digest, page, EMAIL_PAPERS),
        "more_papers": max(0, len(digest.papers) - EMAIL_PAPERS),
        "topics": topic_items(digest, page),
    }
    env = _environment()
    html = _inliner().inline(env.get_template("email.html.j2").render(values))
    chat = {**values, "papers": values["papers"][:CHAT_PAPERS], "more_papers": max(0, len(digest.papers) - CHAT_PAPERS)}
    return Message(
        subject=values["subject"],
        page=page,
        html=html,
        text=env.get_template("email.txt.j2").render(values),
        markdown=env.get_template("chat.md.j2").render(chat).strip(),
    )
