"""Evidence quotes: whether the words a review point says it rests on (`ReviewPoint.evidence`) occur in
the text the model read, and the sentences of a text offered as quotes to choose from.

A quote is compared with its source in one `normalized` form, which forgives what copying changes
and nothing that changes what is said: Unicode compatibility forms, quotation marks, dashes, line-break
hyphenation, the TeX markup a model drops when it copies ($ signs, \\emph{...}, \\%), spacing, case
and the punctuation at the quote's ends. A changed number or word is a quote not found.

Pure functions: no I/O, no LLM; retryable failures are digest.llm.request's Verdict.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from digest.llm.request import Verdict
from digest.models import PaperReview

# A quote (or a piece of one between ellipses) anchors a point only from 4 words and 20 characters on,
# counted in its normalized form: shorter strings ("the results", "in Table 2") occur in most papers.
MIN_WORDS = 4
MIN_CHARS = 20
REASON_QUOTE_CHARS = 100  # of the first missing quote, in a Verdict's reason

# Soft hyphens and zero-width characters: invisible, and a copied quote may or may not keep them.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# TeX a model drops when it copies prose: text-style commands keep their argument, escaped characters stand
# for themselves, spacing commands and ties are spaces, and $ only switches to math.
_TEX_TEXT = re.compile(r"\\(?:emph|text(?:it|bf|tt|sc|rm|sf|up|sl)?|math(?:rm|bf|it|sf|tt)|underline)\s*\{([^{}]*)\}")
_TEX_ESCAPE = re.compile(r"\\([%&#_{}$])")
_TEX_SPACE = re.compile(r"\\[ ,;:!]|~")
# Quotation marks of every kind (straight, curly, low, guillemets, TeX's `` and ''), apostrophes and primes are
# dropped, not straightened: a model quoting inside a JSON string often swaps " for ' or leaves them out.
_QUOTE_MARKS = re.compile("[\"'`\u2018-\u201f\u2032-\u2037\u00ab\u00bb\u2039\u203a\u00b4]")
# Hyphens, dashes and minus signs, with any spacing or line break around them: "A -- B", "A — B" and "A–B" read
# alike, and so do a word broken at a line end ("inter-\nnational", or "inter- national" once line breaks are
# spaces) and the word.
_DASH = re.compile(r"\s*[-\u2010-\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d]+\s*")
# Between letters a hyphen is dropped: a line-end hyphen cannot be told from a compound's own ("state-of-\nthe-art"),
# and "pre-trained" says what "pretrained" says. Between digits it stays: "3-5" is not "35".
_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_SPACE = re.compile(r"\s+")
_EDGES = " .,;:!?()[]{}<>*_-/\\|"  # stripped from both ends ("%" stays: "5%" is not "5")
_ELLIPSIS = re.compile(r"\.{3,}")  # NFKC has made "…" three full stops

# A sentence ends at . ! or ? (and any closing quote or bracket) before whitespace and, after any opening quote,
# bracket or TeX, a letter or digit; `_ends_sentence` rules out a lowercase one, abbreviations and initials.
_SENTENCE_END = re.compile(r"[.!?][\"'’”)\]]*(\s+)(?=(?P<open>[\"'‘“(\[$\\]*)(?P<next>[^\W_]))")
_ABBREVIATIONS = frozenset(
    "al fig figs eq eqs sec sect secs tab ch chap appx ref refs cf vs resp approx incl no nos vol pp thm lem def "
    "prop cor alg dr prof mr mrs ms st jr sr jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_DOTTED = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # e.g, i.e, i.i.d, U.S (less the full stop that ends them)


def normalized(text: str) -> str:
    """`text` in the form quotes and sources are compared in (a str, usually a little shorter): NFKC
    (ligatures, full-width forms, "…" as "..."), soft hyphens and zero-width characters removed, cheap TeX
    reduced ($ dropped, \\emph{x} -> x, \\% -> %, ~ -> space), quotation marks and primes dropped, every
    dash or minus (and "--") as "-" with no space or line break around it, a hyphen between letters dropped
    (which undoes line-break hyphenation: "inter-\\nnational" -> "international"), whitespace runs as one
    space, case folded, and leading or trailing punctuation and spaces stripped. Never raises."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    text = _TEX_SPACE.sub(" ", _TEX_ESCAPE.sub(r"\1", _TEX_TEXT.sub(r"\1", text))).replace("$", "")
    text = _HYPHEN.sub("", _DASH.sub("-", _QUOTE_MARKS.sub("", text)))
    return _SPACE.sub(" ", text.casefold()).strip(_EDGES)


@functools.lru_cache(maxsize=16)
def _normalized_source(source: str) -> str:
    """`normalized(source)`, once per source: a review's quotes are all looked up in the same text."""
    return normalized(source)


def _anchors(piece: str) -> bool:
    """Whether a normalized quote (or piece of one) is long enough to point at one place in a paper."""
    return len(piece) >= MIN_CHARS and len(piece.split()) >= MIN_WORDS


def _word_char(text: str, at: int) -> bool:
    return 0 <= at < len(text) and (text[at].isalnum() or text[at] == "_")


def _find(piece: str, text: str, start: int) -> int:
    """Where the first occurrence of `piece` in `text` from `start` on ends, as whole words ("5% of" is not in
    "15% of"), or -1. A plain substring search: a regex opening with a lookbehind scans 30 times slower."""
    at = text.find(piece, start)
    while at >= 0:
        end = at + len(piece)
        cut_before = _word_char(piece, 0) and _word_char(text, at - 1)
        if not cut_before and not (_word_char(piece, len(piece) - 1) and _word_char(text, end)):
            return end
        at = text.find(piece, at + 1)
    return -1


def quote_found(quote: str, source: str) -> bool:
    """Whether `quote` occurs in `source`, both `normalized`, as whole words.

    A quote joined from pieces by an ellipsis ("A ... B", "A … B", "A [...] B") is found when its pieces
    of at least MIN_WORDS words and MIN_CHARS characters occur in `source` in order; shorter pieces are
    passed over. A quote with no such piece is never found: too short to anchor a point. `source` is
    normalized once and reused across calls (an LRU cache of the last 16 sources), so checking a
    review's ~24 quotes against a 24,000-character paper costs one normalization of the paper."""
    pieces = [p.strip(_EDGES) for p in _ELLIPSIS.split(normalized(quote))]
    pieces = [p for p in pieces if _anchors(p)]
    if not pieces:
        return False
    text, start = _normalized_source(source), 0
    for piece in pieces:
        start = _find(piece, text, start)
        if start < 0:
            return False
    return True


def _cut(text: str, max_chars: int) -> str:
    """`text` cut at a space to at most `max_chars` characters (inside a word only when the first word is longer):
    the cut keeps a prefix of `text`, so a verbatim quote stays verbatim."""
    if len(text) <= max_chars:
        return text
    head = text[: max_chars + 1]  # its last character says whether the cut falls between words
    return head.rsplit(" ", 1)[0].rstrip() if " " in head else text[:max_chars]


def _shortened(quote: str, max_chars: int) -> str:
    """`quote` on one line, cut at a word to at most `max_chars` characters, "…" included, when longer."""
    quote = " ".join(quote.split())
    return quote if len(quote) <= max_chars else _cut(quote, max_chars - 1) + "…"


def _missing(review: PaperReview) -> tuple[list[str], int]:
    """The evidence quotes of `review` marked not found, in part order, and how many were checked."""
    checked = [p for points in review.parts().values() for p in points if p.evidence_found is not None]
    return [p.evidence for p in checked if not p.evidence_found], len(checked)


def verify_evidence(
    review: PaperReview, source: str, source_name: str = "the paper's text"
) -> tuple[PaperReview, Verdict | None]:
    """`review` with `evidence_found` set on every point (a copy; `review` is unchanged), by `quote_found`
    against `source` (the text the model read), and a retryable Verdict when any quote is not found.

    Its reason counts the missing quotes and quotes the first, cut to REASON_QUOTE_CHARS, naming the text by
    `source_name` ("the abstract", "the paper"): '2 of 12 evidence quotes are not in the abstract: "..."'."""
    update = {
        part: [p.model_copy(update={"evidence_found": quote_found(p.evidence, source)}) for p in points]
        for part, points in review.parts().items()
    }
    checked = review.model_copy(update=update)
    missing, total = _missing(checked)
    if not missing:
        return checked, None
    first = _shortened(missing[0], REASON_QUOTE_CHARS)
    return checked, Verdict(f'{_count(len(missing), total)} not in {source_name}: "{first}"', retry=True)


def _count(missing: int, total: int) -> str:
    return f"{missing} of {total} evidence quote{'s are' if total != 1 else ' is'}"


def evidence_problem(review: PaperReview, source_name: str = "the paper's text") -> str | None:
    """Why `review` (its `evidence_found` set by `verify_evidence`) must be shown as unverified: more than
    half of its checked quotes are not in the text the model read, so its points rest on words the paper
    does not hold. E.g. "7 of 12 evidence quotes are not in the abstract". None when half or more are
    found, or when no quote was checked (a review stored before evidence was asked for)."""
    missing, total = _missing(review)
    if 2 * len(missing) <= total:
        return None
    return f"{_count(len(missing), total)} not in {source_name}"


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether the candidate end `match` in `text` ends a sentence: the next word does not start lowercase (TeX
    aside), and a full stop does not close an abbreviation ("e.g.", "et al.", "Fig.") or an initial ("J. Smith")."""
    if match["next"].islower() and not match["open"].endswith(("$", "\\")):  # "$\omega$Test" starts one
        return False
    if text[match.start()] != ".":
        return True
    word = text[: match.start()].rsplit(None, 1)[-1].lstrip("([{\"'‘“")
    initial = len(word) == 1 and word.isupper()
    return not (initial or word.casefold() in _ABBREVIATIONS or _DOTTED.fullmatch(word))


def _split_sentences(text: str) -> list[str]:
    """The sentences of `text` in order, stripped; a decimal ("3.5") never matches, having no space."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _ends_sentence(text, match):
            sentences.append(text[start : match.start(1)].strip())
            start = match.end()
    return [*sentences, text[start:].strip()]


def source_sentences(text: str, max_chars: int = 300) -> list[str]:
    """The sentences of `text` (an abstract) in order, each cut at a word to at most `max_chars` characters,
    without duplicates (as `normalized`) and without those too short to anchor a point (MIN_WORDS, MIN_CHARS).

    Each is a quote `quote_found` in `text` (one that is not, such as a sentence cut inside a word longer than
    `max_chars`, is left out), so the list can be offered as the quotes a grammar-constrained model chooses from
    (a JSON Schema enum). Sentences end at . ! or ?, not after "e.g.", "i.e.", "et al.", "Fig." and the other
    _ABBREVIATIONS, not after an initial, and not inside a decimal; so a sentence that ends in a one-letter name
    ("a fixed Q.") stays joined to the next, which is still a verbatim quote. Raises ValueError when `max_chars`
    is below MIN_CHARS (no sentence could anchor a point)."""
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS}, not {max_chars}")
    kept: dict[str, str] = {}
    for sentence in _split_sentences(text):
        quote = _cut(sentence, max_chars)
        key = normalized(quote)
        if _anchors(key) and key not in kept and quote_found(quote, text):
            kept[key] = quote
    return list(kept.values())
