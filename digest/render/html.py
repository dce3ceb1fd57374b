"""The day's page and each paper's page: the Jinja2 environment (autoescape on), model and feed
text through CommonMark (cmark-gfm) then nh3, TeX as MathML (digest.render.math), every URL through
safe_url(), stable anchors and file names, and the links from a commentary's or the overview's
citations ([n]) to what they cite.

The stylesheet is inlined and allowed by its hash in the Content-Security-Policy, so every page is
one self-contained file that loads nothing. The one exception is the search page (render_search_page),
which loads Pagefind's UI and index from the site (digest.render.search).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from importlib import resources

import cmarkgfm
import jinja2
import nh3
from cmarkgfm.cmark import Options
from markupsafe import Markup

from digest.config import SiteConfig
from digest.hygiene import THINK
from digest.models import REVIEW_PARTS, Digest, PaperReview, PaperWriteup, ResearchDirections, ReviewPoint
from digest.render import math, wording
from digest.render.foryou import for_you, places
from digest.words import plural

ALLOWED_TAGS = {"p", "ul", "ol", "li", "em", "strong", "code", "pre", "blockquote", "a", "br", "h4", "h5"}
_HREFLESS_LINK = re.compile(r"<a\b(?![^>]*\bhref=)[^>]*>(.*?)</a>", re.S)


# A lower-case http(s) scheme followed by a host character: an absolute http(s) URL with a host.
_PLAIN_HTTP = re.compile(r"https?://[A-Za-z0-9\[]")


def safe_url(url: str | None) -> str:
    """`url` if it is an absolute http(s) URL (checked after percent-decoding), else ''."""
    if not url:
        return ""
    url = url.strip()
    if _PLAIN_HTTP.match(url):  # the common case, and the answer the full check below would give
        return url
    decoded = urllib.parse.unquote(url).strip().lower()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if not decoded.startswith(("http://", "https://")):
        return ""
    return url


def external_link(url: str | None, label: str) -> Markup:
    """A link to `url` that leaves no opener or referrer behind, or `label` marked "(no safe link)"
    when safe_url refuses the URL. A filter in Python: it runs a few times per paper."""
    url = safe_url(url)
    if not url:
        return Markup("{} (no safe link)").format(label)
    return Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(url, label)


def slugify(text: str) -> str:
    """Lower-case `[a-z0-9-]` slug of `text` ('' becomes 'section')."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "section"


def paper_anchor(arxiv_id: str) -> str:
    """Stable anchor for a paper: 'paper-2604-21935' (old-style ids keep their archive name)."""
    return "paper-" + slugify(arxiv_id)


def paper_page(arxiv_id: str) -> str:
    """The paper's own page relative to its day's folder: 'papers/2604-21935.html'. A slug, so
    no id from a feed can name a path outside that folder."""
    return f"papers/{slugify(arxiv_id)}.html"


@functools.lru_cache(maxsize=64)
def _cleaner(allowed: frozenset[str] | None) -> nh3.Cleaner:
    """The sanitizer for links to `allowed` URLs (None: any http(s) URL); built once per set,
    since building costs as much as cleaning a paragraph."""

    def keep(tag: str, attr: str, value: str) -> str | None:
        if tag == "a" and attr == "href":
            url = safe_url(value)
            return url if url and (allowed is None or url in allowed) else None
        return value

    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow ugc",
        attribute_filter=keep,
    )


def render_markdown(text: str | None, links: Iterable[str] | None = None, cites: Iterable[str] | None = None) -> Markup:
    """Model or feed text (Markdown) as sanitized HTML: tight allowlist, http(s) links only, and
    when `links` is given only links to those URLs (a commentary may cite its own articles only).

    `cites` are the page anchors of the items the text cites by number: a citation [n] (also
    [1, 3], [1][2], [1-3]) links each n to `#cites[n-1]`; a number with no item stays plain text.
    """
    if not text:
        return Markup("")
    allowed = None if links is None else frozenset(safe_url(u) for u in links)
    return _sanitized(text, allowed, None if cites is None else tuple(cites))


def sanitized_cache_clear() -> None:
    """Forget every cached rendering (benchmarks start each run cold, as a build does)."""
    _sanitized.cache_clear()
    math.to_mathml.cache_clear()


# Cached because a paper's summary, review and directions appear on the day page and on the
# paper's own page: the second rendering is free. 4,096 entries of a few KB each at most.
@functools.lru_cache(maxsize=4096)
def _sanitized(text: str, allowed: frozenset[str] | None, cites: tuple[str, ...] | None) -> Markup:
    # Formulas are held out of CommonMark (whose emphasis would take TeX's _ and *) and of the
    # citation links, and put back last, each sanitized on its own as MathML.
    markdown, formulas = math.protect(THINK.sub("", text))
    # Raw HTML passes cmark-gfm (C, about 15 µs a paragraph) so that nh3 sees it whole: it drops
    # <script> and <style> with their content and every tag and attribute off the allowlist.
    html = cmarkgfm.markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    clean = _cleaner(allowed).clean(html)
    # A link whose URL was refused keeps its text but is no longer a link.
    clean = _HREFLESS_LINK.sub(r"\1", clean)
    return Markup(math.restore(_link_citations(clean, cites) if cites else clean, formulas))


_CITATION = r"\[\d+(?:\s*[,;\u2013-]\s*\d+)*\]"  # [1], [1, 3], [1-3], [1–3]
# Over sanitized HTML: a link, code or preformatted text is kept whole, and so is every tag, so a
# citation is linked only where it is text (never inside a link, or a number in a URL or in code).
_KEEP_OR_CITATION = re.compile(rf"<(a|code|pre)\b[^>]*>.*?</\1>|<[^>]*>|({_CITATION})", re.S)
_NUMBER = re.compile(r"\d+")


def _link_citations(html: str, cites: tuple[str, ...]) -> str:
    """`html` with each cited number linked to its item's anchor. Our links, added after nh3: the
    sanitizer lets the model link to no page anchor itself. nh3 escapes < and > in text and in
    attribute values, so every tag is one <...> run."""
    targets = {str(n): anchor for n, anchor in enumerate(cites, 1)}  # a string key: "007" is no item

    def number(match: re.Match[str]) -> str:
        anchor = targets.get(match.group())
        return Markup('<a href="#{}">{}</a>').format(anchor, match.group()) if anchor else match.group()

    def citation(match: re.Match[str]) -> str:
        return _NUMBER.sub(number, match.group(2)) if match.group(2) else match.group()

    return _KEEP_OR_CITATION.sub(citation, html)


# The page's heading of each review part (models.REVIEW_PARTS), numbered in that order.
REVIEW_HEADINGS = dict(
    zip(
        REVIEW_PARTS,
        (
            "Summary of Content",
            "Weaknesses",
            "Technical Soundness",
            "Novelty and Significance",
            "Potential Limitations or Concerns",
            "Overall Evaluation",
        ),
        strict=True,
    )
)
DIRECTION_PARTS = (
    ("direct_extensions", "1. Direct Extensions of This Work"),
    ("novel_directions", "2. Novel Research Directions"),
    ("unexplored_problems", "3. Unexplored Problems"),
    ("potential_applications", "4. Potential Applications"),
)


# A review or a set of directions is rendered as one Markdown document with its headings: one
# conversion and one sanitizer pass per section instead of one per paragraph or list item.
def review_markdown(review: PaperReview) -> Markup:
    """The six parts of a review under their numbered headings, each an ordered list of its points
    (bold title, text, the evidence quote below in small type, labelled "quote not found" when our
    check did not find it in the text the model read), as sanitized HTML."""
    parts = review.parts()
    document = "\n\n".join(
        f"#### {n}. {heading}\n\n" + "\n\n".join(_point(point) for point in parts[field])
        for n, (field, heading) in enumerate(REVIEW_HEADINGS.items(), 1)
    )
    return _marked_evidence(render_markdown(document))


# An evidence quote is marked with private-use characters, removed from the model's text first, so
# that after sanitizing only the quotes we placed get the evidence style and the "quote not found" label.
_QUOTE, _NOT_FOUND = "\ue000", "\ue001"
_MARKERS = re.compile("[\ue000\ue001]")
_ITEM_INDENT = " " * len("1. ")  # a list item's continuation lines: its text stays in the item


def _point(point: ReviewPoint) -> str:
    """A review point as Markdown, one item of its part's ordered list. The text is indented into
    the item, so even an unclosed code fence ends with the item; the quote, on one line, is a
    quote block of the item. A point without title or evidence (a review of schema version 1)
    shows only its text."""
    title = " ".join(_MARKERS.sub("", point.title).split())
    if title and not title.endswith((".", ":", "?", "!")):
        title += ":"  # "**Benchmark bias:** The benchmark ...", as a reviewer writes it
    item = (
        "1. "
        + (f"**{title}** " if title else "")
        + _MARKERS.sub("", point.text).strip().replace("\n", "\n" + _ITEM_INDENT)
    )
    quote = " ".join(_MARKERS.sub("", point.evidence).split())
    if not quote:
        return item
    # The markers lead the quote: nothing the model wrote can come before them, or take them away.
    return f"{item}\n\n{_ITEM_INDENT}> {_QUOTE}{_NOT_FOUND if point.evidence_found is False else ''}{quote}"


def _marked_evidence(html: Markup) -> Markup:
    """The review's HTML with our evidence quotes styled and each one not found labelled. A quote
    that an unclosed structure of its point's text took in (a code fence) keeps its label, unstyled."""
    text = str(html).replace(f"<blockquote>\n<p>{_QUOTE}", '<blockquote class="evidence">\n<p>')
    text = text.replace(_NOT_FOUND, f'<span class="badge warn">{wording.QUOTE_NOT_FOUND}</span> ')
    return Markup(text.replace(_QUOTE, ""))


def directions_markdown(directions: ResearchDirections) -> Markup:
    """The four groups of research directions, each a list under its heading, as sanitized HTML."""

    def items(values: list[str]) -> str:
        return "\n".join("- " + " ".join(v.split()) for v in values)  # one line each: stays in its item

    return render_markdown(
        "\n\n".join(f"#### {heading}\n\n{items(getattr(directions, field))}" for field, heading in DIRECTION_PARTS)
    )


def topic_anchors(titles: list[str]) -> list[str]:
    """The anchors of the day's topics, from their titles: 'topic-frontier-models', and a second
    topic of the same slug 'topic-frontier-models-2' (a number no other topic's slug already has)."""
    used: set[str] = set()
    out = []
    for title in titles:
        base = slug = "topic-" + slugify(title)
        n = 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        out.append(slug)
    return out


def article_anchors(topic_anchor: str, count: int) -> list[str]:
    """The anchors of a topic's `count` articles, [1] first: 'topic-frontier-models--1'. A slug
    never holds "--", so no topic's or other article's anchor can be the same."""
    return [f"{topic_anchor}--{n}" for n in range(1, count + 1)]


def overview_cites(digest: Digest, topic_slugs: list[str]) -> list[str]:
    """What the overview's [n] cite, the numbering its request gives (digest.write.overview): [1..P]
    the day's papers in order, then [P+1..P+T] its topics (`topic_slugs`, from topic_anchors)."""
    return [paper_anchor(w.paper.arxiv_id) for w in digest.papers] + topic_slugs


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of every page: package templates, autoescape, our filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("digest", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        md=render_markdown,
        tex=math.render_tex,
        review_md=review_markdown,
        directions_md=directions_markdown,
        safe_url=safe_url,
        external_link=external_link,
        anchor=paper_anchor,
        paper_page=paper_page,
        long_date=long_date,
        plural=plural,
        from_what=wording.from_what,
        source_label=wording.source_label,
    )
    env.globals.update(
        no_mailing=wording.no_mailing,
        arxiv_failures=wording.arxiv_failures,
        lists_backfilled_papers=wording.lists_backfilled_papers,
    )
    return env


def long_date(day: dt.date) -> str:
    """'April 30, 2026'."""
    return f"{day:%B} {day.day}, {day.year}"


@functools.cache
def _asset(name: str) -> str:
    return resources.files("digest").joinpath("templates", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@functools.cache  # the same few answers for every page of a run
def stylesheet(script: str | None = None, search: bool = False) -> tuple[Markup, str]:
    """The inline stylesheet and the Content-Security-Policy that allows exactly it and, when
    given, exactly the inline `script` (both by hash); nothing else may load or run. A page with
    the `search` box (searchbox.html.j2) gets its style, and may submit a form to the site itself:
    the box is a GET form to search.html, which works with JavaScript off."""
    css = _asset("digest.css") + (_asset("search.css") if search else "")
    scripts = f"script-src 'sha256-{_sha256(script)}'; " if script else ""
    form = "'self'" if search else "'none'"
    csp = (
        f"default-src 'none'; style-src 'sha256-{_sha256(css)}'; {scripts}img-src 'self'; "
        f"base-uri 'none'; form-action {form}"
    )
    return Markup(css), csp


def render_page(
    digest: Digest,
    previous: dt.date | None = None,
    following: dt.date | None = None,
    inline_max: int = SiteConfig().inline_max,
) -> str:
    """The complete HTML of one day's page; `previous`/`following` are the neighbouring built days.

    A day of at most `inline_max` papers carries each review and set of research directions folded
    under the paper; a larger day links to the paper pages for them (render_paper_page): with
    1,000 papers the page weighs about 2.3 MB instead of 10.9 MB (bench/render.py).
    """
    script = _asset("filter.js")
    css, csp = stylesheet(script, search=True)
    slugs = topic_anchors([t.title for t in digest.topics])
    return (
        environment()
        .get_template("digest.html.j2")
        .render(
            d=digest,
            css=css,
            csp=csp,
            root="../",
            script=Markup(script),
            previous=previous,
            following=following,
            inline=len(digest.papers) <= inline_max,
            topic_slugs=slugs,
            article_anchors=[
                article_anchors(slug, len(t.articles)) for slug, t in zip(slugs, digest.topics, strict=True)
            ],
            overview_cites=overview_cites(digest, slugs),
            overview_links=[a.link for t in digest.topics for a in t.articles]
            + [w.paper.abs_url for w in digest.papers],
            for_you=for_you(digest),
            places=places(digest),
        )
    )


def render_paper_page(digest: Digest, writeup: PaperWriteup) -> str:
    """The complete HTML of one paper's page (`<date>/papers/<slug>.html`, see paper_page): its
    summary, review and research directions unfolded, with links back to the day and the archive."""
    css, csp = stylesheet()
    return environment().get_template("paper.html.j2").render(d=digest, w=writeup, css=css, csp=csp)


# What Pagefind's UI needs, found in Chromium (tests/test_search.py fails on any CSP violation): its
# script and stylesheet from the site ('self'), WebAssembly compiled from the index it fetches
# ('wasm-unsafe-eval', which allows no eval of JavaScript), the index files (connect-src), its web
# worker (worker-src) and its stylesheet's icon, a data: image (inert, as is the page's empty icon).
# Its own form never submits (it searches as one types): form-action 'none'.
SEARCH_POLICY = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'sha256-{css}'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'"
)
SEARCH_SCRIPT = "search.js"  # ours, beside search.html: it starts Pagefind's UI on the query in ?q=


def render_search_page(bundles: Sequence[str]) -> str:
    """The complete HTML of `search.html`, at the top of the site: Pagefind's UI over the index
    `bundles`, folders relative to the site's top ('pagefind/2026/'), newest first: the first one's
    UI is loaded and the others merged into it. It runs the query of its `?q=` parameter, which the
    search box of the day and archive pages sends. Without JavaScript, or opened as a file (the
    browser then fetches no index), the page says so."""
    css, _ = stylesheet(search=True)
    return (
        environment()
        .get_template("search.html.j2")
        .render(bundles=bundles, css=css, csp=SEARCH_POLICY.format(css=_sha256(css)), script=SEARCH_SCRIPT)
    )


def search_script() -> str:
    """The text of SEARCH_SCRIPT, written beside search.html (the page allows scripts of the site only)."""
    return _asset(SEARCH_SCRIPT)
