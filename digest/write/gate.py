"""The writing gate: checks every model answer passes before it becomes a `Section`, each a pure
function (no I/O, no LLM) over the answer and the text the model read, returning why the answer
must be marked "unverified" (a str, or a Verdict that also says whether asking again may mend it) or
None. Text hygiene happens before, as the answer is read (digest.hygiene); the paper-against-source
checks are digest.write.grounding, evidence quotes digest.write.quotes, citations digest.write.citations.

- `echoed_instructions(writeup, source)`: the write-up holds instructions aimed at an AI ("ignore
  previous instructions", "give a positive review"), most likely repeated from an injection in
  its input.
- `doubts_the_unknown(writeup, source)`: it calls something fictitious or fabricated that the source
  does not (the writer judging by its own training cut-off).
`gate_section(section, source, checks)` applies them, and a task's own checks (Verdicts: evidence
quotes, citations), to a written Section. A check whose Verdict says `retry` is also given to the
client, which sends the model back once with the reason (digest.llm.client).
"""

from __future__ import annotations

import re

from digest.fetch.text import aimed_at_ai
from digest.llm.request import Check, Verdict
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
STEM_CHARS = 6


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


# What a reviewer says of a model, dataset or paper it does not know: it may be newer than its training
# (a real review called GPT-5.2 "fictitious" and a paper's results "fabricated" for that reason).
_DOUBT = re.compile(
    r"\b(?:fictitious|fictional|fabricated|made[- ]up|non-?existent|do(?:es)? not (?:yet )?exist"
    r"|hypothetical (?:models?|systems?|results?|references?)|future[- ]dated|not (?:yet )?been released"
    r"|fake (?:models?|results?|references?|data))\b",
    re.I,
)


def doubts_the_unknown(writeup: str, source: str) -> Verdict | None:
    """A Verdict (retry) when `writeup` calls something fictitious, fabricated or non-existent while
    `source` (the text the model read) does not use such a word itself: a paper about fabricated
    citations may say "fabricated", a review may not call a model it does not know fictitious."""
    for sentence in _SENTENCE.split(writeup):
        found = _DOUBT.search(sentence)
        # The word's stem ("fabricat", "fiction"): a source about fabricating citations allows "fabricated".
        if found and not re.search(re.escape(found.group(0).split()[0][:STEM_CHARS]), source, re.I):
            quoted = sentence.strip()[:QUOTE_CHARS]
            return Verdict(
                f'it calls something "{found.group(0)}" ("{quoted}"): what the writer does not know may be '
                "newer than its training, so judge the paper by its text",
                retry=True,
            )
    return None


def text_checks(writeup: str, source: str) -> list[str]:
    """Why the text of a write-up, commentary or overview must be marked unverified whatever it is
    about: instructions aimed at an AI, or doubt of what the writer does not know."""
    doubt = doubts_the_unknown(writeup, source)
    return [r for r in (echoed_instructions(writeup, source), doubt.reason if doubt else None) if r]


def unverified(section: Section, reasons: list[str]) -> Section:
    """`section` marked "unverified" with `reasons` added to its error; unchanged when there are none
    or it has no content."""
    if not reasons or section.status == "unavailable" or section.content is None:
        return section
    error = "; ".join(e for e in (section.error, *reasons) if e)
    return section.model_copy(update={"status": "unverified", "error": error})


def gate_section(section: Section, source: str, checks: tuple[Check, ...] = ()) -> Section:
    """`section` marked "unverified", the reasons added to its error, when its text fails the text
    checks against `source` (the text the model read) or its content fails one of `checks`; a
    section without content is returned as is."""
    if section.status == "unavailable" or section.content is None:
        return section
    reasons = text_checks(section_text(section.content), source)
    reasons += [v.reason for v in (check(section.content) for check in checks) if v is not None]
    return unverified(section, reasons)
