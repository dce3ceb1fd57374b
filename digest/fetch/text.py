"""Feed text to plain text: markup removed, entities decoded, C0 controls and runs of space gone."""

from __future__ import annotations

import html
import re

import nh3

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


def clean_text(raw: str, max_chars: int | None = None, html_markup: bool = True) -> str:
    """Plain text of a feed field, on one line, cut to `max_chars` characters.

    With `html_markup` the field is HTML (tags dropped, entities decoded); without, it is already
    text and a '<' in it is a character to show, not a tag.
    """
    if html_markup and ("<" in raw or "&" in raw):
        # nh3 with no allowed tags keeps only text (script/style content dropped), still escaped.
        raw = html.unescape(nh3.clean(raw, tags=set()))
    text = _SPACE.sub(" ", _CONTROLS.sub(" ", raw)).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return text
