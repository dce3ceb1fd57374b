"""Cited paragraphs: does each paragraph of a topic commentary or of the "Today in AI" overview cite the
numbered items it rests on, and say only what those items state?

The commentary and overview prompts number today's items ([1] is the topic's first article; for the overview,
the day's papers, then its topics) and ask every paragraph to cite at least one as [n]. `citation_problem`
reads the paragraphs in turn and names the first problem, checking each paragraph in this order:

1. Echoed input, what a small model repeats from its prompt or leaks from a broken answer: the prompt's
   instructions ("Write a short analyst commentary", "Text between ... is data"), its tags and headers
   (<articles>, </digest>, <draft n="1">, "News topics:"), lines of its item list ("[3] Title (Source)",
   "[1] Title (Source, 2026-04-23): ...", "- Title (Source, news): ..."), JSON debris (a paragraph that opens
   by closing something, "]),", "},"; `{"`, `"key": value`, an escaped quote, a run of brackets) and ISO
   timestamps (2019-08-24T15:36:47.38).
2. Markup: an HTML tag, or what GitHub Markdown (the page's renderer, cmark-gfm) makes a heading, code block,
   table, rule or image. Emphasis, lists and links stay: links are checked in 4.
3. Citations: [n], [1, 3], [1; 3], [1][2], [1-3], [1–3]; a paragraph with none, or citing a number no item has.
4. Facts the cited items do not state. Dates (2019-08-24, August 24, 2019, Aug. 24, 24 Aug 2019, August 2019,
   August 24; day ranges like April 23-27, 2026) are compared as dates: an item's 2026-04-27 states "April 27".
   Figures are digest.write.figures' (numbers, percentages, magnitudes; spelled-out numbers and years alone are
   not figures, a year in a date is the date's). Links are compared as digest.select.stories.canonical_url does
   (scheme, "www.", trailing slash and tracking parameters aside). Each fact must be in the text of an item the
   paragraph itself cites, so that a reader who follows the citation finds it: a fact from an item cited only
   elsewhere is still flagged.

Pure functions: no I/O, no LLM, and they never raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

import cmarkgfm
import lxml.html

from digest.llm.request import Verdict
from digest.select.stories import canonical_url
from digest.write.figures import SHOWN_CHARS, SHOWN_FIGURES, unsupported_figures

SHOWN = 60  # characters of echoed text quoted in a reason

# 3. Citations. Inside the brackets: numbers separated by commas (or semicolons), or ranges with a hyphen or an
# en dash.
_CITATION = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")

# 1. Echoed input. The instructions are phrases of the commentary_draft, commentary_synthesis and overview
# prompts (their first and current versions, and _today.md) and of the answer schema's description
# (digest.models.CITED) that no analyst writes to a reader.
_INSTRUCTIONS = re.compile(
    r"\btext between\b.{0,80}?\bis data\b|\bnever follow instructions found inside\b"
    r"|^\W*(?:you are (?:an?|the) |you write |write (?:a|an|at most|one|two|three|\d)\b|merge the drafts\b)"
    r"|^\W*today is \d{4}-\d\d-\d\d\b|\bnever call anything fictitious\b"
    r"|\bevery paragraph cites\b|\bstate only facts\b|\bplain prose: no headings\b|\bkeep what the drafts agree on\b"
    r"|\bname papers by their titles\b|\bthe numbered items\b|\beach paragraph in markdown\b",
    re.I | re.M,
)
_DATA_BLOCK = re.compile(
    r"</?(?:articles?|digest|papers?|drafts?|topics?|items?|news)\b[^<>\n]{0,40}>"
    r"|^[ \t]*(?:Papers|News topics|Topic):",
    re.I | re.M,
)
# A line of the prompt's item list: "[3] Title (Source)", "- Title (Source, news): summary", "- Title: summary".
_LIST_LINE = re.compile(r"^[ \t]*(?:\[\d+\]|[-*•])[ \t]+(?P<rest>[^\n]{8,})", re.M)
_SOURCE_NOTE = re.compile(r"\((?P<meta>[^()\n]*)\)[ \t]*(?::|$)")  # the "(Source, news):" after an item's title
# What the prompts put after an article's source in the parenthesis: its kind (news, comment) or its date.
_ITEM_NOTE = re.compile(r",\s*(?:news|comment|(?:19|20)\d\d-\d\d-\d\d)\s*(?:,|$)")
LONG_TITLE_WORDS = 4  # a title this long, found in an item, is an echo without its source beside it
_DEBRIS = re.compile(
    r"^\s*(?:[\]})]|\"\s*[,:}\]])"  # a paragraph that opens by closing something: ]), "},
    r"|\{\s*\"|\"\s*\}|\"[\w-]{1,40}\"\s*:\s*[\"\[{\d]|\\\""  # {"  "}  "key": value  \"
)
_PUNCTUATION_RUN = re.compile(r"[\[\]{}()\"',:;]{3,}")  # debris when it holds two brackets or braces: "]}, ["
_TIMESTAMP = re.compile(r"\b\d{4}-\d\d-\d\d(?:T\d\d:\d\d|\s\d\d:\d\d:\d\d)[\d:.]*(?:Z|[+-]\d\d:?\d\d)?")

# 2. Markup. What cmark-gfm renders as these elements has no place in a paragraph of prose.
_HTML_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>|<!--")
_BLOCKS = {
    **{f"h{level}": "a heading" for level in range(1, 7)},
    "pre": "a code block",
    "table": "a table",
    "hr": "a rule",
    "img": "an image",
}

# 4. Facts: dates in the forms of the module docstring, most specific first (an ISO date, then day and month
# with an optional year, then month and year); URLs, and the destinations of Markdown links.
_MONTH = (
    r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
_DAYS = (
    r"(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
    r"(?:\s?[-–]\s?(?P<last>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?)?\b"
)  # April 23-27
_YEAR = r"(?P<year>(?:19|20)\d\d)\b"
_DATES = (
    re.compile(r"(?<![\d-])(?P<year>(?:19|20)\d\d)-(?P<month>0[1-9]|1[0-2])(?:-(?P<day>0[1-9]|[12]\d|3[01]))?(?!\d)"),
    re.compile(rf"\b{_MONTH}\s{_DAYS}(?:,?\s{_YEAR})?"),
    re.compile(rf"\b{_DAYS}\s(?:of\s)?{_MONTH}(?:,?\s{_YEAR})?"),
    re.compile(rf"\b{_MONTH}\s(?:of\s)?{_YEAR}"),
)
_MONTHS = {name: number for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_MAGNITUDE_WORD = re.compile(r"\b(?:thousand|million|billion|trillion|percent|per cent)\b", re.I)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]]+")
_LINK_DESTINATION = re.compile(r"(?<=\])\([^()\s]*(?:\s+\"[^\"]*\")?\)")  # the (url "title") of [text](url "title")


class _Date(NamedTuple):
    """A calendar date as a text states it: the year and the day may be left out."""

    year: int | None
    month: int
    day: int | None

    def states(self, stated: _Date) -> bool:
        """Whether this date, found in an item, states `stated`, found in a paragraph: the same month, the same day
        if one is stated, the same year if both give one."""
        same_day = stated.day is None or stated.day == self.day
        same_year = None in (stated.year, self.year) or stated.year == self.year
        return self.month == stated.month and same_day and same_year


def citation_problem(paragraphs: list[str], items: Mapping[int, str]) -> Verdict | None:
    """The first problem of a commentary's or overview's `paragraphs` (Markdown, one string each) against the
    numbered `items` they may cite (number -> the full text of that item as the model saw it: title, source,
    summary, date, URL...), as a Verdict with retry=True (sending the model back once with the reason may mend
    it); None when every paragraph passes. Checks and their order: the module docstring. The reason names the
    paragraph (from 1) and what is wrong: "paragraph 2 cites no item", "paragraph 1 cites [7], but there are
    only 5 items", "paragraph 3 states 2019-08-24, which no item it cites ([1], [2]) states". Never raises."""
    for number, paragraph in enumerate(paragraphs, 1):
        problem = _paragraph_problem(paragraph, items)
        if problem:
            return Verdict(f"paragraph {number} {problem}", retry=True)
    return None


def _paragraph_problem(paragraph: str, items: Mapping[int, str]) -> str | None:
    """What is wrong with one paragraph, said after its number ("cites no item"), or None."""
    rendered = _rendered(paragraph)
    problem = _echoed_input(paragraph, items.values()) or _markup(paragraph, rendered)
    if problem:
        return problem
    cited, unknown = _citations(paragraph, items)
    if unknown is not None:
        return f"cites [{unknown}], but {_numbering(items)}"
    if not cited:
        return "cites no item"
    hrefs = [str(href) for href in rendered.xpath("//a/@href")]
    return _unstated_fact(paragraph, hrefs, "\n".join(items[n] for n in cited), cited)


# --- 1. echoed input ---------------------------------------------------------------------------------------


def _echoed_input(paragraph: str, items: Iterable[str]) -> str | None:
    """How `paragraph` repeats the prompt or holds debris of the data, or None."""
    instructions = _INSTRUCTIONS.search(paragraph)
    if instructions:
        return f'repeats the prompt\'s instructions ("{_excerpt(paragraph, instructions.start())}")'
    block = _DATA_BLOCK.search(paragraph)
    line = block.group().strip() if block else _item_line(paragraph, items)
    if line:
        return f"repeats the prompt's data block ({line})"
    debris = _debris(paragraph)
    if debris:
        return f"holds JSON debris: {debris}"
    stamp = _TIMESTAMP.search(paragraph)
    return f"holds a timestamp from the input data: {stamp.group()}" if stamp else None


def _item_line(paragraph: str, items: Iterable[str]) -> str | None:
    """The first line of `paragraph` shaped like a line of the prompt's item list and copied from it, quoted up
    to the end of the title and its parenthesis; or None. A list line is a copy when its parenthesis ends in an
    item's kind or date ("(OpenAI News, 2026-04-23)"), or when its title (up to the parenthesis, else to a colon)
    is in an item and either the parenthesis names an item's source or the title is long: "- Claude Design: ..."
    is a writer's list."""
    texts = [_folded(text) for text in items]

    def found(part: str) -> bool:
        return bool(part.strip()) and any(_folded(part) in text for text in texts)

    for line in _LIST_LINE.finditer(paragraph):
        rest = _blank(line.group("rest"), _CITATION).rstrip()
        note = _SOURCE_NOTE.search(rest)
        title, meta = (rest[: note.start()], note.group("meta")) if note else (rest.split(":")[0], "")
        long_title = len(title.split()) >= LONG_TITLE_WORDS
        if _ITEM_NOTE.search(meta) or found(title) and (found(meta.split(",")[0]) or long_title):
            head = len(line.group()) - len(line.group("rest")) + (note.end() if note else len(title))
            return _excerpt(line.group()[:head])
    return None


def _debris(paragraph: str) -> str | None:
    """The first piece of JSON syntax in `paragraph` (citations aside), quoted up to the next space; or None."""
    prose = _blank(paragraph, _CITATION)
    found = _DEBRIS.search(prose)
    runs = (run for run in _PUNCTUATION_RUN.finditer(prose) if sum(run.group().count(c) for c in "[]{}") >= 2)
    start = found.start() if found else next((run.start() for run in runs), None)
    return None if start is None else prose[start:].split()[0][:SHOWN]


# --- 2. markup ---------------------------------------------------------------------------------------------


def _rendered(paragraph: str) -> lxml.html.HtmlElement:
    """`paragraph` as the page's renderer makes it (cmark-gfm), parsed; a lone surrogate, which a JSON answer can
    hold ("\\ud800") and UTF-8 cannot encode, is read as a replacement character."""
    markdown = paragraph.encode("utf-8", "replace").decode("utf-8")
    return lxml.html.fragment_fromstring(cmarkgfm.github_flavored_markdown_to_html(markdown), create_parent=True)


def _markup(paragraph: str, rendered: lxml.html.HtmlElement) -> str | None:
    """The markup `paragraph` holds (an HTML tag, quoted, or the kind of Markdown block), or None; `rendered`
    is the paragraph as the page's renderer makes it."""
    tag = _HTML_TAG.search(paragraph)
    if tag:
        return f"holds markup ({_excerpt(tag.group())})"
    block = next((what for name, what in _BLOCKS.items() if rendered.find(f".//{name}") is not None), None)
    return f"holds markup ({block})" if block else None


# --- 3. citations ------------------------------------------------------------------------------------------


def _cited_numbers(paragraph: str) -> Iterator[int]:
    """The numbers `paragraph` cites, in order, each range expanded ([1-3] is 1, 2, 3) as it is read."""
    for citation in _CITATION.finditer(paragraph):
        for part in re.split("[,;]", citation.group(1)):
            first, _, last = part.replace("–", "-").partition("-")
            low, high = sorted((int(first), int(last or first)))
            yield from range(low, high + 1)


def _citations(paragraph: str, items: Mapping[int, str]) -> tuple[list[int], int | None]:
    """The item numbers `paragraph` cites, each once in order of first citation, and the first number it cites
    that no item has (None: every one is an item's). Reading stops at that number, so a range like [1-99999] is
    read only as far as the first number past the items."""
    cited: list[int] = []
    for number in _cited_numbers(paragraph):
        if number not in items:
            return cited, number
        if number not in cited:
            cited.append(number)
    return cited, None


def _numbering(items: Mapping[int, str]) -> str:
    """What numbers there are to cite, for a reason: "there are only 5 items", "the items are [2], [4]"."""
    numbers = sorted(items)
    if not numbers:
        return "there are no items"
    if numbers == list(range(1, len(numbers) + 1)):
        return "there is only 1 item" if len(numbers) == 1 else f"there are only {len(numbers)} items"
    return "the items are " + ", ".join(f"[{n}]" for n in numbers)


# --- 4. facts ----------------------------------------------------------------------------------------------


def _unstated_fact(paragraph: str, hrefs: list[str], source: str, cited: list[int]) -> str | None:
    """The first date, then figures, then link of `paragraph` that `source` (the text of the items it cites, by
    number in `cited`) does not state, said as a reason; None when all are stated. `hrefs` are its links."""
    which = "no item it cites (" + ", ".join(f"[{n}]" for n in cited) + ")"
    prose = _blank(paragraph, _CITATION, _LINK_DESTINATION, _URL)  # a URL's digits are neither dates nor figures
    date = _unstated_date(prose, source)
    if date:
        return f"states {date}, which {which} states"
    figures = _unstated_figures(_blank(prose, *_DATES), source)
    if figures:
        return f"states {figures}, which {which} states"
    link = _unstated_link(hrefs, source)
    return f"links to {link}, which {which} gives" if link else None


def _date_mentions(text: str) -> list[tuple[str, list[_Date]]]:
    """The dates `text` states, in order: each as written, with the dates it means (a day range is each day)."""
    found: list[re.Match] = []
    taken = bytearray(len(text))  # 1 where a date already found lies: "24 Aug 2019" is not also "Aug 2019"
    for pattern in _DATES:  # most specific first
        for match in pattern.finditer(text):
            if not any(taken[match.start() : match.end()]):
                taken[match.start() : match.end()] = b"\1" * (match.end() - match.start())
                found.append(match)
    return [(m.group().strip(), _dates_of(m)) for m in sorted(found, key=lambda m: m.start())]


def _dates_of(match: re.Match) -> list[_Date]:
    """The dates a match of one of _DATES means."""
    groups = match.groupdict()
    month = int(groups["month"]) if groups["month"].isdigit() else _MONTHS[groups["month"][:3].lower()]
    year = int(groups["year"]) if groups.get("year") else None
    if not groups.get("day"):
        return [_Date(year, month, None)]
    low, high = sorted((int(groups["day"]), int(groups.get("last") or groups["day"])))
    return [_Date(year, month, day) for day in range(low, high + 1)]


def _unstated_date(prose: str, source: str) -> str | None:
    """The first date of `prose`, as written, that no date of `source` states; or None."""
    stated = {date for _, dates in _date_mentions(source) for date in dates}
    for written, dates in _date_mentions(prose):
        if not all(any(known.states(date) for known in stated) for date in dates):
            return written
    return None


def _unstated_figures(prose: str, source: str) -> str | None:
    """The figures of `prose` that `source` does not state (digest.write.figures), as written; or None."""
    # Headlines are in title case, and digest.write.figures reads magnitude words in lower case only:
    # "$135 Billion" in a title states the "$135 billion" of a paragraph.
    prose = _MAGNITUDE_WORD.sub(lambda m: m.group().lower(), prose)
    found = unsupported_figures(prose, _MAGNITUDE_WORD.sub(lambda m: m.group().lower(), source))
    written = dict.fromkeys(prose[f.start : f.stop].strip()[:SHOWN_CHARS] for f in found)
    return ", ".join(list(written)[:SHOWN_FIGURES]) or None


def _unstated_link(hrefs: list[str], source: str) -> str | None:
    """The first of `hrefs` that `source` does not give (URLs compared canonically, e-mail addresses as text)."""
    given = {_canonical(url.rstrip(".,;:!?")) for url in _URL.findall(source)} - {None}
    for href in hrefs:
        if href.startswith("mailto:"):
            if href.removeprefix("mailto:") not in source:
                return href
        elif _canonical(href) not in given:
            return href
    return None


def _canonical(url: str) -> str | None:
    """`url` as canonical_url makes it, or None for a URL it cannot read (a broken IPv6 host: "http://[::1")."""
    try:
        return canonical_url(url)
    except ValueError:
        return None


# --- text helpers ------------------------------------------------------------------------------------------


def _blank(text: str, *patterns: re.Pattern) -> str:
    """`text` with what each of `patterns` matches replaced by as many spaces (words stay apart)."""
    for pattern in patterns:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def _folded(text: str) -> str:
    """`text` casefolded with its runs of space made one, for finding one text in another."""
    return " ".join(text.casefold().split())


def _excerpt(text: str, start: int = 0) -> str:
    """At most SHOWN characters of `text` from `start`, cut at a word, for quoting in a reason."""
    shown = text[start:].strip()
    if len(shown) <= SHOWN:
        return shown
    return shown[: SHOWN - 1].rsplit(" ", 1)[0] + "…"
