"""Figures: does a write-up state only numbers its source states?

`fabricated_figures` is the figures check of the paper-vs-source grounding (digest/write/grounding.py): every
figure the write-up states must be one the source states, and not one the source gives for something else.

The figures of a write-up (`figures`): integers, decimals, thousands with separators (1,200), percentages
(80%, 80 percent), multipliers (4x, 4×, 5-fold, 3 times), magnitudes (29k, 2.3M, 7B, 100 million) and both
ends of a range (3-5, 10–20%, 7-8B: a first end without unit or magnitude takes the second's); a ratio 3:1 is
its two numbers. Not figures: spelled-out numbers; years (a bare four-digit 1900-2039) and dates (2026-02-18);
numbering (a line or sentence starting "1." "2)" "(3)", an inline "(1)"); citations [12]; numbers after
reference words (Table 2, Section 3.1, Eq. 4, Theorem 1, Step 2, Task 2, Problem 4); digits inside names and
formulas (GPT-4, Qwen2.5, Llama-3-8B, 3D, x^2, Success@3, O(1), the 3 of 1/3); a version after a capitalised
name (Gemma 2, Claude 3.5). The figures of the source are read liberally: every digit group, names included,
once TeX markup is reduced ($, \\%, \\times, \\pm, \\frac{a}{b}); spelled-out numbers (four, twenty-one, one
million); twice, double, triple; half (50%, 0.5); "by a factor of 2.1"; "N orders of magnitude" (10^N ×); a
percentage also as a fraction and back (90%, 0.9).

A source figure states a write-up figure when it has the same unit (any unit, for a write-up figure without
one) and equals it once rounded or truncated to the write-up's last digit ("34%" for 34.4%, "1.5k" for
1,534, "47%" for 47.0%); a write-up figure with decimals needs a source figure at least as precise ("4.0" is
not "4"). A stated value can still be wrong where the source gives it for something else, so contradictions
count too: a count, or a figure with a unit (8 mm), whose next word the source puts right after other values
only (never within a few words after this one), and a range end where the source has the range with the
same other end ("2-5" against "1-5"). Calibrated on real write-ups made from abstracts (tests/test_grounding.py
prints the rates).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import NamedTuple

# The grammar (see the module docstring for what counts and why).
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_UNIT = (
    r"(?P<pct>\s?\+?\\?%|\s(?:percent|per cent)\b)"  # 25+% is 25% too
    # "2x A100" counts GPUs: a multiplier is not followed by a capitalised name
    r"|(?P<times>\s?[x×X](?![A-Za-z0-9]|\s[A-Z])|-?\s?fold\b(?!\s+(?:cross|CV\b))|\s?\$?\\times\$?|\stimes\b)"
    r"|(?P<scale>\s?(?:[kKMBb]|bn|mn)(?![A-Za-z])|[\s-](?:thousand|million|billion|trillion)\b)"
)
_FIGURE = re.compile(rf"(?P<num>{_NUM})(?:{_UNIT})?")
_SCALE = {"k": 3, "thousand": 3, "m": 6, "mn": 6, "million": 6, "b": 9, "bn": 9, "billion": 9, "trillion": 12}
_RANGE = re.compile(r"\s?(?:--?|–|—|to)\s?")  # what lies between the two ends of a range
_SPREAD = re.compile(r"\s?(?:±|\+/-|\+-)\s?")  # 64.5 ± 1.8%: the 64.5 is a percentage too
_REFERENCE_WORDS = "|".join(
    r"""tables? tab\. figures? figs?\. sections? sec\. § eqs?\. equations? appendix theorems?
lemmas? corollary propositions? definitions? assumptions? remarks? algorithms? alg\. chapters? steps? stages? phases?
findings? examples? parts? tasks? problems? questions? cases? scenarios? settings? hypothes[ie]s experiments? study
studies levels? types? modes? benchmarks? rules?""".split()
)
_NOT_FIGURES = re.compile(  # blanked out of a write-up before figures are read
    r"(?im)^\s*(?:[-*•]\s*)?\(?\d{1,2}[.):](?=\s)"  # numbered lines
    r"|(?<=[.:;!?]\s)\d{1,2}\.(?=\s+(?-i:[A-Z]))"  # a numbered point inside a paragraph: "... 2. The second"
    r"|(?<![\w.])\(?\d{1,2}\)(?=\s)"  # inline (1) 2)
    r"|\[\d+(?:\s?[,–-]\s?\d+)*\]"  # citations
    r"|\b(?:19|20)\d\d-\d\d(?:-\d\d)?\b"  # dates
    rf"|\b(?:{_REFERENCE_WORDS})\s?\(?\d+(?:\.\d+)*\)?(?:\s?(?:[-–,&]|and)\s?\d+(?:\.\d+)*)*"  # Table 2, Tasks 1-3
)
_YEAR = re.compile(r"(?:19\d|20[0-3])\d")
_IN_NAME = re.compile(r"[^\W_]\.?$|[\^_@{/]$|(?:[^\W\d_]|∈)\($")  # Qwen2.5, x^2, n_1, Success@3, O(1), 1/3, p∈(1,2]
_IN_HYPHENATED_NAME = re.compile(r"[^\W\d_][\w.-]*-$")  # GPT-4, Llama-3-8B
_CAPITALISED = re.compile(r"\b[A-Z][a-z][A-Za-z]*\s$")
_SENTENCE_OPENS = re.compile(r"(?:^|[.!?:]\s*)$")
_GLUED_UNITS = frozenset(
    "s ms μs us ns min h hz khz mhz ghz db dbm km m cm mm μm um nm px gb mb kb tb fps w kw mw v mv kg g mg".split()
)  # 28km is a figure, 3D is not
_TEX_MARKUP = re.compile(r"\\[,;!: ()]|~|\$|\\(?:textbf|mathbf|text|mathrm)|[{}]|\\pm\b")
_TEX_RANGE = re.compile(r"(?<=\d)\}?\s*(?:~|\\sim)\s*\{?(?=\d)")  # 8~31%, 1.2{\sim}1.3
_TEX_FRACTION = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve "
        "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_NUMBER_WORDS.update(
    {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
)
_NUMBER_WORDS["single"] = 1
_SPELLED = re.compile(
    rf"\b(?P<num>{'|'.join(_NUMBER_WORDS)})"
    rf"(?:-(?P<ones>one|two|three|four|five|six|seven|eight|nine))?\b(?:{_UNIT})?",
    re.I,
)
_MULTIPLES = {
    "twice": 2,
    "double": 2,
    "doubles": 2,
    "doubled": 2,
    "doubling": 2,
    "triple": 3,
    "triples": 3,
    "tripled": 3,
    "tripling": 3,
    "quadruple": 4,
    "quadrupled": 4,
}
_MULTIPLE = re.compile(rf"\b(?:{'|'.join(_MULTIPLES)})\b", re.I)
_MAGNITUDE = re.compile(r"\b(?P<n>\d|an|one|two|three|four|five|six|seven|eight|nine|ten) orders? of magnitude", re.I)
_FACTOR = re.compile(rf"(?:\bfactor (?:of )?(?:up to )?|(?:×|\\times)\s?)(?P<num>{_NUM})", re.I)
_HALF = re.compile(r"\bhalf\b", re.I)
# Words that sit between a count and its noun without being the noun ("5 of the", "3 in total").
_FUNCTION_WORDS = frozenset(
    """a an the of by to and or with in on at for from up over about approximately approx
than more less only nearly around roughly almost under vs versus while whereas which that this these those is are
was were be been its their per each both all as into across between among within without when where also
just out""".split()
)
_NEXT_WORD = re.compile(r"[-\s]([^\W\d_][\w-]*)")  # a word or compound (pose-flow) after a space or hyphen
# A source count's noun may come after modifiers ("34 interpretable meal archetypes", "29 state-of-the-art
# real-time object detectors"); a write-up's is taken as its next word.
SOURCE_NOUN_WORDS, WRITEUP_NOUN_WORDS = 4, 1
_CURRENCIES = frozenset("$€£¥")
_UNIT_WORD = re.compile(rf"\s?({'|'.join(sorted(_GLUED_UNITS, key=len, reverse=True))})\b", re.I)
SHOWN_FIGURES, SHOWN_CHARS = 5, 24  # in a reason: how many figures, and of each how much


@dataclass(frozen=True)
class Figure:
    """A number as a text states it. `value` has magnitudes applied (1.5k -> 1500), `unit` is "", "%" or "×",
    `quantum` is the step of the last written digit (0.1 for 34.4, 100 for 1.5k, 1 for a spelled-out number);
    text[start:end] is the written number and text[start:stop] the number with its unit; `scale` is the power of
    ten of its magnitude word or letter (3 for k)."""

    value: Decimal
    unit: str
    quantum: Decimal
    start: int
    end: int
    stop: int
    scale: int = 0

    def stated_by(self, other: Figure) -> bool:
        """Whether source figure `other` states this one (the rule in the module docstring)."""
        if self.unit and other.unit != self.unit or self.quantum < 1 and other.quantum > self.quantum:
            return False
        steps = other.value / self.quantum
        return any(
            steps.to_integral_value(rounding=rounding) * self.quantum == self.value
            for rounding in (ROUND_HALF_UP, ROUND_DOWN)
        )

    @property
    def counts(self) -> bool:
        """Whether this is a count: a whole number written out in full, without a unit (3, 1,534; not 2k)."""
        return not self.unit and self.quantum == 1

    def as_fraction(self) -> Figure | None:
        """The same figure as a fraction or a percentage (90% and 0.9), or None when it is neither."""
        if self.unit == "%":
            return Figure(self.value / 100, "", self.quantum / 100, self.start, self.end, self.stop)
        if not self.unit and 0 < self.value <= 1:
            return Figure(self.value * 100, "%", self.quantum * 100, self.start, self.end, self.stop)
        return None


def _figure(match: re.Match, number: str, start: int, end: int) -> Figure:
    """The Figure of `number` (digits, or a spelled-out value) at text[start:end], with the unit `match` found."""
    written = Decimal(number.replace(",", ""))
    scale = _SCALE[match.group("scale").strip().strip("-").lower()] if match.group("scale") else 0
    unit = "%" if match.group("pct") else "×" if match.group("times") else ""
    return Figure(written.scaleb(scale), unit, _quantum(written, scale), start, end, match.end(), scale)


def _quantum(written: Decimal, scale: int = 0) -> Decimal:
    """The step of the last written digit of `written` (0.1 for 34.4), times 10**`scale` (100 for 1.5k)."""
    exponent = written.as_tuple().exponent
    if not isinstance(exponent, int):  # "n", "N" or "F": a NaN or infinity, which no figure pattern reads
        raise ValueError(f"{written} is not a finite number")
    return Decimal(1).scaleb(exponent + scale)


def _claimed(text: str, match: re.Match) -> bool:
    """Whether a number matched in a write-up is a figure, not part of a name, formula or year."""
    number, start = match.group("num"), match.start("num")
    before = text[max(0, start - 30) : start]
    if _IN_NAME.search(before[-2:]) or _IN_HYPHENATED_NAME.search(before):
        return False
    if match.group("pct") or match.group("times") or match.group("scale"):
        return True
    glued = re.match(r"[^\W\d_]+", text[match.end() :])
    if glued:
        return glued.group().lower() in _GLUED_UNITS
    if re.fullmatch(r"\d{1,2}(?:\.\d)?", number) and _versioned(text, start):
        return False
    return "," in number or "." in number or not _YEAR.fullmatch(number)


def _versioned(text: str, start: int) -> bool:
    """Whether the number at `start` follows a capitalised word that does not open a sentence: a name and its
    version ("with Gemma 2", "(Claude 3.5"), not "Achieves 2"."""
    name = _CAPITALISED.search(text, max(0, start - 30), start)
    return bool(name) and not _SENTENCE_OPENS.search(text[max(0, name.start() - 10) : name.start()])


def _ranged(gap: str, first: Figure, second: Figure) -> bool:
    """Whether `gap`, the text between two figures, makes them a range: a dash, or "to" between figures alike
    ("from 3 to 5", not "16.7 pp at 1B to 21.2")."""
    if not _RANGE.fullmatch(gap):
        return False
    return "to" not in gap or (first.unit, first.scale) in ((second.unit, second.scale), ("", 0))


def _with_range_units(text: str, found: list[Figure]) -> list[Figure]:
    """`found` with the first end of each range given the unit and magnitude of the second (10-20% is 10% and
    20%, 7-8B is 7B and 8B), and a value given the unit of its spread (64.5 ± 1.8%)."""
    for i, (first, second) in enumerate(itertools.pairwise(found)):
        gap = text[first.stop : second.start]
        if first.unit or first.scale or not (second.unit or second.scale):
            continue
        if _ranged(gap, first, second) or _SPREAD.fullmatch(gap) and not second.scale:
            found[i] = Figure(
                first.value.scaleb(second.scale),
                second.unit,
                first.quantum.scaleb(second.scale),
                first.start,
                first.end,
                first.stop,
                second.scale,
            )
    return found


def figures(text: str) -> list[Figure]:
    """The figures a write-up `text` states, in order (what counts: the module docstring)."""
    scan = _NOT_FIGURES.sub(lambda m: " " * len(m.group()), text)  # same length: positions stay valid
    found = [
        _figure(m, m.group("num"), m.start("num"), m.end("num")) for m in _FIGURE.finditer(scan) if _claimed(scan, m)
    ]
    return _with_range_units(scan, found)


def source_figures(text: str) -> tuple[str, list[Figure]]:
    """The source `text` with its TeX markup reduced, and every figure in it read liberally (digits anywhere,
    spelled-out numbers, multiples), in order; positions refer to the reduced text."""

    def reduce(markup: re.Match) -> str:  # TeX spaces (~, \,) become spaces, the rest goes
        if markup.group() == r"\pm":
            return "±"
        return " " if markup.group() == "~" or len(markup.group()) == 2 and markup.group()[0] == "\\" else ""

    plain = _TEX_MARKUP.sub(reduce, _TEX_RANGE.sub("–", _TEX_FRACTION.sub(r"\1/\2", text)))
    found = [_figure(m, m.group("num"), m.start(), m.end("num")) for m in _FIGURE.finditer(plain)]
    for m in _SPELLED.finditer(plain):
        value = _NUMBER_WORDS[m.group("num").lower()] + _NUMBER_WORDS.get((m.group("ones") or "zero").lower(), 0)
        found.append(_figure(m, str(value), m.start(), m.end("ones") if m.group("ones") else m.end("num")))
    one = Decimal(1)
    found += [
        Figure(Decimal(_MULTIPLES[m.group().lower()]), "×", one, m.start(), m.end(), m.end())
        for m in _MULTIPLE.finditer(plain)
    ]
    for m in _MAGNITUDE.finditer(plain):
        orders = m.group("n").lower()
        exponent = 1 if orders == "an" else int(_NUMBER_WORDS.get(orders, orders))
        found.append(Figure(Decimal(10) ** exponent, "×", one, m.start(), m.end(), m.end()))
    for m in _FACTOR.finditer(plain):  # "by a factor of 2.1", "×2"
        written = Decimal(m.group("num").replace(",", ""))
        found.append(Figure(written, "×", _quantum(written), m.start("num"), m.end(), m.end()))
    for m in _HALF.finditer(plain):
        found += [
            Figure(Decimal(50), "%", one, m.start(), m.end(), m.end()),
            Figure(Decimal("0.5"), "", Decimal("0.1"), m.start(), m.end(), m.end()),
        ]
    return plain, _with_range_units(plain, sorted(found, key=lambda f: f.start))


def _singular(word: str) -> str:
    """A count noun in the singular, so "3 samples" and "1.6B-sample" name the same thing."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if re.search(r"(?:s|x|z|ch|sh)es$", word):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith(("ss", "us", "is")) else word


def _contexts(text: str, found: list[Figure], n: int, noun_words: int) -> set[tuple]:
    """What the `n`th figure of `found` is a figure of: ("noun", unit) for a unit after it (28km, 8.3 mm); for a
    count, ("noun", word) for the `noun_words` words after it (compounds split: "two pose-flow backbones");
    ("to", value, unit) or ("from", value, unit) for the other end of a range."""
    figure, keys = found[n], set()
    after = (
        found[n + 1].stop
        if n + 1 < len(found) and _SPREAD.fullmatch(text[figure.stop : found[n + 1].start])
        else figure.stop
    )  # 24.1 ± 6.4 mm
    unit = _UNIT_WORD.match(text, after)
    glued = re.match(r"[^\W\d_]", text[figure.stop : figure.stop + 1])  # 3D is a name, of nothing
    if unit:
        keys.add(("noun", unit.group(1).lower()))
    elif (
        figure.counts
        and not glued
        and text[figure.start : figure.end].lower() not in ("zero", "one", "single")
        and text[max(0, figure.start - 1) : figure.start] not in _CURRENCIES
    ):  # zero-shot, one of, $31 per
        position = figure.stop
        for _ in range(noun_words):
            word = _NEXT_WORD.match(text, position)
            if not word:
                break
            position = word.end()
            keys |= {
                ("noun", _singular(part))
                for part in word.group(1).lower().split("-")
                if len(part) > 1 and part not in _FUNCTION_WORDS
            }
    if n + 1 < len(found) and _ranged(text[figure.stop : found[n + 1].start], figure, found[n + 1]):
        keys.add(("to", found[n + 1].value, found[n + 1].unit))
    if n and _ranged(text[found[n - 1].stop : figure.start], found[n - 1], figure):
        keys.add(("from", found[n - 1].value, found[n - 1].unit))
    return keys


def _index(text: str, found: list[Figure], noun_words: int) -> dict[tuple, list[Figure]]:
    """The figures of `found` by each of their contexts."""
    index: dict[tuple, list[Figure]] = {}
    for n, figure in enumerate(found):
        for key in _contexts(text, found, n, noun_words):
            index.setdefault(key, []).append(figure)
    return index


class _Stated(NamedTuple):
    """What a source states, as a write-up's figures are checked against it: every figure (with its
    fractions), and the figures by their tight and by their loose contexts."""

    figures: list[Figure]
    against: dict[tuple, list[Figure]]
    support: dict[tuple, list[Figure]]


@functools.lru_cache(maxsize=64)  # a paper's source serves its summary and review, checked at once
def _stated(source: str) -> _Stated:
    plain, ordered = source_figures(source)
    # Evidence against a figure is tight (the source puts the noun right after another count), evidence for
    # it is loose (the noun within a few words of this value): "34 meal archetypes" for "34 interpretable meal
    # archetypes" stands even though the source also says "135,491 meals".
    return _Stated(
        ordered + [f for f in (g.as_fraction() for g in ordered) if f],
        _index(plain, ordered, 1),
        _index(plain, ordered, SOURCE_NOUN_WORDS),
    )


def unsupported_figures(writeup: str, source: str) -> list[Figure]:
    """The figures of `writeup` that `source` does not state, or states for something else (positions refer to
    `writeup`)."""
    stated, against, support = _stated(source)
    claimed = figures(writeup)
    unsupported = []
    for n, figure in enumerate(claimed):
        keys = _contexts(writeup, claimed, n, WRITEUP_NOUN_WORDS)
        if (
            not any(figure.stated_by(g) for g in stated)
            or any(key in against for key in keys)
            and not any(figure.stated_by(g) for key in keys for g in support.get(key, []))
        ):
            unsupported.append(figure)
    return unsupported


def fabricated_figures(writeup: str, source: str) -> str | None:
    """Why `writeup` may state figures its `source` (title, abstract, full text) does not, naming them as written;
    None when every figure is stated. Never raises."""
    found = unsupported_figures(writeup, source)
    unknown = list(dict.fromkeys(writeup[f.start : f.stop].strip()[:SHOWN_CHARS] for f in found))
    if not unknown:
        return None
    return f"states numbers absent from the abstract: {', '.join(unknown[:SHOWN_FIGURES])}"
