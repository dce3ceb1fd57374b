"""TeX in paper titles, abstracts and model-written Markdown, shown as MathML.

A formula is found by its delimiters (inline `$...$` and `\\(...\\)`, display `$$...$$` and `\\[...\\]`),
converted by latex2mathml and sanitized by nh3 with an allowlist of MathML Core elements and
presentational attributes only: no links (`href`), no `xlink:*`, no `style`, no event handlers, and no
`annotation-xml` (which can carry HTML). latex2mathml copies the text of `\\text{...}` unescaped into its
output, so its MathML is never trusted as it comes. Each formula keeps its TeX source in an
`annotation` (not displayed), so the page's text, which the keyword filter reads, still holds it.
A formula latex2mathml cannot convert stays as its source, escaped.

A dollar amount is not a formula. The rule is Pandoc's for `tex_math_dollars`: the opening `$` has a
non-space character right after it, the closing `$` a non-space character right before it and no
digit right after it, so "$5 and $10" is text. A `\\$` is a literal dollar sign.
"""

from __future__ import annotations

import functools
import html
import re

import latex2mathml.converter
import nh3
from markupsafe import Markup, escape

# MathML Core's presentation elements that latex2mathml writes, plus `semantics` and a text-only
# `annotation` for the source; nh3 drops every other element and keeps its text.
MATHML_TAGS = frozenset(
    "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot msub msup msubsup munder mover munderover "
    "mtable mtr mtd mstyle mpadded mphantom menclose semantics annotation".split()
)
# Layout only: sizes, spacing, alignment, variants. No colours (mathcolor could hide text), no URLs.
_PRESENTATION = frozenset(
    "mathvariant mathsize displaystyle scriptlevel stretchy fence separator form accent accentunder "
    "largeop movablelimits symmetric minsize maxsize lspace rspace width height depth voffset "
    "linethickness notation columnalign columnspacing columnlines rowalign rowspacing rowlines "
    "frame framespacing equalrows equalcolumns columnspan rowspan".split()
)
_MATH_ATTRIBUTES = {tag: set(_PRESENTATION) for tag in MATHML_TAGS} | {
    "math": {"display"} | _PRESENTATION,
    "annotation": {"encoding"},
}

# One alternation, display forms first so that "$$" is never read as two inline dollars. A formula
# does not run over a blank line (a paragraph break in Markdown).
_ANY = r"(?:\\.|[^\\\n]|\n(?![ \t]*\n))"
FORMULA = re.compile(
    rf"(?<!\\)\$\$(?P<dollars>{_ANY}+?)\$\$"
    rf"|\\\[(?P<brackets>{_ANY}+?)\\\]"
    rf"|\\\((?P<parens>{_ANY}+?)\\\)"
    rf"|(?<![\\$])\$(?![\s$])(?P<dollar>(?:\\.|[^\\$\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?!\d)",
    re.S,
)
_DISPLAY_GROUPS = ("dollars", "brackets")
# latex2mathml writes one <mrow> in its <math>: the first child `semantics` needs, the one it renders.
_MATH_ELEMENT = re.compile(r"<math\b[^>]*>(<mrow>.*</mrow>)</math>", re.S)


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """The MathML sanitizer, built once: it costs as much to build as to clean a paragraph."""
    return nh3.Cleaner(
        tags=set(MATHML_TAGS),
        attributes=_MATH_ATTRIBUTES,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
        clean_content_tags={"script", "style", "annotation-xml"},
    )


@functools.lru_cache(maxsize=4096)  # a title appears in the contents, its heading and its own page
def to_mathml(tex: str, display: bool = False) -> Markup | None:
    """The TeX formula `tex` (no delimiters) as one sanitized `<math>` element, block when `display`,
    with `tex` in its annotation; None when latex2mathml cannot convert it."""
    try:
        mathml = latex2mathml.converter.convert(tex, display="block" if display else "inline")
    except Exception:  # beyond its own errors, malformed TeX raises IndexError, KeyError, ...
        return None
    body = _MATH_ELEMENT.fullmatch(mathml)
    if not body:
        return None
    annotated = (
        f'<math display="{"block" if display else "inline"}"><semantics>{body.group(1)}'
        f'<annotation encoding="application/x-tex">{html.escape(tex)}</annotation></semantics></math>'
    )
    return Markup(_cleaner().clean(annotated))


def _formula(match: re.Match[str]) -> Markup:
    """A found formula as MathML, or its whole source (delimiters too), escaped, when it does not convert."""
    group = match.lastgroup or "dollar"
    return to_mathml(match.group(group).strip(), group in _DISPLAY_GROUPS) or escape(match.group())


def render_tex(text: str | None) -> Markup:
    """Plain text (a paper's title or abstract) as HTML: escaped, each formula in it as MathML."""
    if not text:
        return Markup("")
    out, last = [], 0
    for match in FORMULA.finditer(text):
        out += [escape(text[last : match.start()]), _formula(match)]
        last = match.end()
    return Markup("").join([*out, escape(text[last:])])


# Markdown's formulas are taken out before CommonMark reads it, so that `_` and `*` in TeX are not
# emphasis, and put back into the sanitized HTML. A placeholder is private-use characters around
# the formula's number, which neither CommonMark nor nh3 change; the model's own are removed first.
_OPEN, _CLOSE = "\ue002", "\ue003"
_PLACEHOLDER_CHARS = re.compile(f"[{_OPEN}{_CLOSE}]")
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
# What stays TeX source in Markdown: a code span, a link's destination (and title), an autolink and a
# raw HTML tag, so no formula lands in a URL or an attribute; else a formula to hold.
_VERBATIM_OR_FORMULA = re.compile(
    r"(?P<verbatim>(?P<ticks>`+).*?(?<!`)(?P=ticks)(?!`)|\]\([^)]*\)"
    r"|<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*>|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>)"
    rf"|{FORMULA.pattern}",
    re.S,
)
# Over sanitized HTML: code and preformatted text (an indented code block), and every tag, are kept
# whole (a formula there goes back as its source); a placeholder in text becomes the formula's MathML.
_KEEP_OR_PLACEHOLDER = re.compile(rf"<(code|pre)\b[^>]*>.*?</\1>|<[^>]*>|{_PLACEHOLDER.pattern}", re.S)


def protect(markdown: str) -> tuple[str, list[re.Match[str]]]:
    """`markdown` with each formula replaced by a placeholder, and the formulas in order (see restore)."""
    formulas: list[re.Match[str]] = []

    def hold(match: re.Match[str]) -> str:
        if match.group("verbatim"):
            return match.group()
        formulas.append(match)
        return f"{_OPEN}{len(formulas) - 1}{_CLOSE}"

    return _VERBATIM_OR_FORMULA.sub(hold, _PLACEHOLDER_CHARS.sub("", markdown)), formulas


def restore(html_text: str, formulas: list[re.Match[str]]) -> str:
    """Sanitized HTML made from protect()'s Markdown with each placeholder back: as MathML in text,
    as the escaped source inside code, preformatted text or a tag (an attribute)."""
    if not formulas:
        return html_text

    def source(match: re.Match[str]) -> str:
        return html.escape(formulas[int(match.group(1))].group())

    def put_back(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return _formula(formulas[int(match.group(2))])
        return _PLACEHOLDER.sub(source, match.group())

    return _KEEP_OR_PLACEHOLDER.sub(put_back, html_text)
