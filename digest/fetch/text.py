"""Feed text to plain text: hidden elements and markup removed, entities decoded, C0 and C1 controls,
bidirectional overrides and runs of space gone; and the scan for text that addresses an AI rather than a reader.

Hidden HTML (hidden, aria-hidden, display:none, visibility:hidden, font-size:0, <template>) is a
classic carrier of prompt injection: it is dropped before any text can reach a prompt.
"""

from __future__ import annotations

import html
import re
from typing import cast

import lxml.etree as etree  # a module import: type checkers do not find the compiled etree in lxml
import lxml.html
import nh3

from digest.hygiene import drop_controls

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
_HIDDEN = etree.XPath(
    "//*[@hidden or @aria-hidden='true'"
    " or contains(translate(@style, ' ', ''), 'display:none')"
    " or contains(translate(@style, ' ', ''), 'visibility:hidden')"
    " or contains(translate(@style, ' ', ''), 'font-size:0')] | //template"
)
# Phrases that speak to a language model, not to a human reader; matched in lower-cased text (an
# alternation matched case-insensitively takes four times as long, over every abstract of the day).
_AIMED_AT_AI = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) (?:instructions|prompts?)"
    r"|disregard (?:all |the )?(?:previous|prior|above)|you are (?:now )?(?:an? )?(?:ai|language model|chatgpt|assistant)\b"
    r"|system prompt|as an ai (?:language )?model|(?:ai|llm) (?:reviewers?|assistants?)[:,]? (?:must|should|please)"
    r"|give (?:a )?positive review|new instructions:"
)


def drop_hidden(markup: str) -> str:
    """`markup` without the elements a browser would not show."""
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent=True)  # True: a <div> parent
    except (etree.ParserError, ValueError):
        return markup
    for element in _HIDDEN(root):
        element.drop_tree()
    # encoding="unicode" makes tostring return str; lxml's signature is untyped (str or bytes).
    return cast(str, lxml.html.tostring(root, encoding="unicode"))


def aimed_at_ai(text: str) -> bool:
    """True when `text` holds instructions addressed to an AI (a prompt-injection attempt)."""
    return bool(_AIMED_AT_AI.search(text.lower()))


def clean_text(raw: str, max_chars: int | None = None, html_markup: bool = True) -> str:
    """Plain text of a feed field, on one line, cut to `max_chars` characters.

    With `html_markup` the field is HTML (tags dropped, entities decoded); without, it is already
    text and a '<' in it is a character to show, not a tag.
    """
    raw = _CONTROLS.sub(" ", raw)  # first: the HTML parser would turn NUL into U+FFFD
    if html_markup and ("<" in raw or "&" in raw):
        # nh3 with no allowed tags keeps only text (script/style content dropped), still escaped.
        raw = html.unescape(nh3.clean(drop_hidden(raw) if "<" in raw else raw, tags=set()))
    # Again, as entities can decode to controls; then C1 controls and bidirectional overrides, as in every
    # model string (digest.hygiene).
    text = _SPACE.sub(" ", drop_controls(_CONTROLS.sub(" ", raw))).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return text
