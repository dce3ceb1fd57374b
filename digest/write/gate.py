"""The writing gate: checks every model answer passes before it becomes a `Section`, each a pure
function (no I/O, no LLM) over the answer and the text the model read, returning why the answer
must be marked "unverified" (a str) or None. Text hygiene happens before, as the answer is read
(digest.hygiene); the paper-against-source checks are digest.write.grounding.

- `echoed_instructions(writeup, source)`: the write-up holds instructions aimed at an AI ("ignore
  previous instructions", "give a positive review"), most likely repeated from an injection in
  its input.
`gate_section(section, source)` applies them to a written Section.
"""

from __future__ import annotations

import re

from digest.fetch.text import aimed_at_ai
from digest.models import Section
from digest.write.grounding import section_text

# Text a write-up may hold that aimed_at_ai would read as an instruction, but that only names or cites one:
# quoted text (a paper about prompt injection quotes its attack strings), "system prompt" as a noun (what
# such papers study; "your system prompt" still counts) and "AI assistants must/should ..." as a statement
# (addressed, with a colon or "please", it still counts).
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|(?<!\w)'[^'\n]+'(?!\w)")
_MENTIONS = re.compile(
    r"(?<!your )(?<!your own )\bsystem[- ]prompt\w*"
    r"|\b(?:ai|llm) (?:assistants?|reviewers?)(?= (?:must|should)\b)",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
QUOTE_CHARS = 120  # of the offending sentence, in a reason


def _instructions(text: str) -> str | None:
    """The first sentence of `text` that addresses an AI once quotations and mentions are set aside."""
    for sentence in _SENTENCE.split(text):
        if aimed_at_ai(_MENTIONS.sub(" ", _QUOTED.sub(" ", sentence))):
            return sentence.strip()
    return None


def echoed_instructions(writeup: str, source: str) -> str | None:
    """Why `writeup` (the text of a model's answer) must not be shown as verified: it holds a sentence of
    instructions aimed at an AI (digest.fetch.text.aimed_at_ai: "ignore previous instructions", "give a positive
    review", "AI reviewers: ...") outside quotation marks. The reason quotes the sentence and says whether
    `source` (the text the model was given) holds such instructions too, i.e. the write-up repeats an injection.
    Discussing prompt injection, quoting an attack string or naming a system prompt is not flagged. None when
    the write-up passes."""
    sentence = _instructions(writeup)
    if sentence is None:
        return None
    quoted = sentence if len(sentence) <= QUOTE_CHARS else sentence[: QUOTE_CHARS - 1] + "…"
    where = "repeats instructions to an AI found in its source" if _instructions(source) else "addresses an AI"
    return f'it {where}: "{quoted}"'


def gate_section(section: Section, source: str) -> Section:
    """`section` marked "unverified", the reason added to its error, when its text fails a gate
    check against `source` (the text the model read); a section without content is returned as is."""
    if section.status == "unavailable" or section.content is None:
        return section
    reason = echoed_instructions(section_text(section.content), source)
    if reason is None:
        return section
    error = "; ".join(e for e in (section.error, reason) if e)
    return section.model_copy(update={"status": "unverified", "error": error})
