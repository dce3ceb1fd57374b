"""Grounding: does a paper write-up describe the paper it is filed under?

Two questions, both put to every candidate paper of the day (`day`), since a write-up of another
paper is most likely one of today's (a mixed-up request, answer or cache entry):
- Which paper does the answer name? Every write-up echoes the arXiv id and title it was given.
  `named_paper`: an echoed id equal to a day paper's wins (ids are copied, not paraphrased); else a
  title made of this paper's title words (cut short, recased) names it; else the day paper whose title
  the echoed title matches best (`title_match`, at least MIN_TITLE_MATCH; a tie goes to the paper asked
  about). When the id is this paper's and the title another's, the id wins and the text decides.
- Which paper does its text describe? `unfit`: the TF-IDF cosine similarity of the write-up with each
  candidate's title and abstract (scikit-learn's TfidfVectorizer, idf over the day's candidates). The text fails when another paper of
  the day fits it better, or this paper fits it less than MIN_FIT. A summary or review must also state
  no figure its source lacks (`fabricated_figures`, digest/write/figures.py); research directions may,
  since their figures are mostly proposals ("scale it to 70B parameters"), not reported results.

So an answer is flagged only when it names a different paper of the day, or names none while its text
also fails; a garbled echo alone (a paraphrased title, a mistyped id) is a note in digest.json, not a
warning on the page. A write-up that fails is kept but marked "unverified", and the page shows the
abstract beside it.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from digest.models import Paper, ResearchDirections, ReviewPoint, Section
from digest.write.figures import fabricated_figures

# Calibrated on the write-ups of a real published day and on swapped pairs of real abstracts
# (tests/test_grounding.py prints the rates): a write-up's TF-IDF cosine with its own abstract is 0.19 or
# more, 95 % of write-ups of another paper score under 0.12 with it.
MIN_FIT = 0.1
# Dice coefficient of content words: the demo day's small-model paraphrases of their own title score 0.56
# to 0.92 (one, at 0.33, names none); two different papers' titles of a real day score at most 0.29.
MIN_TITLE_MATCH = 0.5
ECHO_CHARS = 80  # of an echoed id or title, in a note or reason
_WORD = re.compile(r"[a-z][a-z\-]{3,}")
_ARXIV_ID = re.compile(r"(?<![\d.])\d{4}\.\d{4,5}(?!\d)|[a-z\-]+(\.[A-Z]{2})?/\d{7}")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")
STOPWORDS = frozenset(
    """
about above after again against also although among an and another any approach approaches are around
based be because been before being below between both but by can could does doing down during each
either enable enables existing few for from further furthermore have having here however into its itself
just many more most much must new novel only other others over paper papers per present presents
propose proposed proposes rather same several should show shows since some such than that their them
then there therefore these they this those through thus under until upon using very well were what
when where whether which while will with within without would author authors work works study studies
result results method methods model models research researchers make makes made including include
includes used uses use demonstrate demonstrates significant significantly potential important key also
first second third like able across often various specific specifically overall additionally
strength strengths weakness weaknesses limitation limitations concern concerns novelty contribution
contributions evaluation evaluate evaluated experiment experiments experimental baseline baselines
clarity clear clearly soundness sound technical technically significance reproducibility recommend
recommendation accept acceptance reject future further evidence claim claims analysis analyses
interesting promising strong weak lack lacks lacking unclear readers reader field community direction
directions application applications improve improvement improvements impact valuable useful
""".split()
)


@functools.lru_cache(maxsize=1 << 16)  # a day's vocabulary: every abstract is read once per section
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> list[str]:
    """The stemmed content words of `text` in order (lower-cased; stopwords and short words dropped)."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def content_words(text: str) -> set[str]:
    """Distinct stemmed content words of `text`."""
    return set(_terms(text))


def title_match(echoed: str, title: str) -> float:
    """How well an echoed title matches a paper's title (0..1): the Dice coefficient of their content
    words, so a reordered or reworded echo still matches and a longer or shorter one matches less."""
    a, b = content_words(echoed), content_words(title)
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def echoed_id(content: BaseModel) -> str | None:
    """The arXiv id a write-up names (the first id-shaped token of its `arxiv_id`, so "arXiv:",
    "./", a URL or a version around it do not matter); "" when it names none, None when the
    write-up has no `arxiv_id` field."""
    raw = getattr(content, "arxiv_id", None)
    if raw is None:
        return None
    found = _ARXIV_ID.search(raw)
    return found.group(0) if found else ""


_Document = tuple[str, str, str]  # a candidate's arXiv id, title and abstract


def _documents(papers: Iterable[Paper]) -> tuple[_Document, ...]:
    """The candidates as an index's cache key: the strings themselves, whose hashes Python keeps, so the key of a
    1,000-paper day costs little per section (a text made of them would be hashed anew every time)."""
    return tuple((p.arxiv_id, p.title, p.summary) for p in papers)


@dataclass(frozen=True)
class _Index:
    """Candidate papers as unit-length TF-IDF rows of their title and abstract, idf over the candidates, weighed by
    scikit-learn's TfidfVectorizer with sublinear_tf and smooth_idf: tf 1 + ln(count), idf ln((1 + n) / (1 + df)) + 1
    for n candidates, df of them with the term."""

    # Fitted on the candidates' terms (`_terms`, so a write-up is read once) with norm=None: `fits` gives a write-up
    # its length itself.
    vectorizer: TfidfVectorizer
    vectors: csr_matrix  # one unit-length row per candidate
    rows: dict[str, int]  # lower-cased arXiv id -> row
    documents: tuple[_Document, ...]  # by row

    def fits(self, terms: list[str]) -> np.ndarray:
        """The TF-IDF cosine similarity (0..1) of a write-up, its content words `terms` (not empty), with each row.

        The write-up is weighed as the fitted vectorizer weighs a document (its vocabulary_ and idf_, tf
        1 + ln(count)), without its transform's input checks, which cost more than the product (a day of
        1,000 write-ups spent 4 s in them)."""
        vocabulary, idf = self.vectorizer.vocabulary_, self.vectorizer.idf_
        counts = Counter(terms)
        columns = np.array([vocabulary[term] for term in counts if term in vocabulary], dtype=np.intp)
        seen = np.array([n for term, n in counts.items() if term in vocabulary], dtype=float)
        weights = (1 + np.log(seen)) * idf[columns]
        # Words no candidate uses count in the write-up's length as a term of no document weighs (idf ln(1 + n)
        # + 1), as in the calibration of MIN_FIT: else a write-up of generic words would fit whichever paper
        # shares its one specific word.
        unseen = np.array([n for term, n in counts.items() if term not in vocabulary], dtype=float)
        unseen_weights = (1 + np.log(unseen)) * (1 + math.log(1 + len(self.documents)))
        length = math.sqrt(weights @ weights + unseen_weights @ unseen_weights)
        query = np.zeros(len(idf))
        query[columns] = weights
        return self.vectors @ query / length  # a dense query: the day's rows in one product

    def compare(self, terms: list[str], arxiv_id: str) -> tuple[float, float, _Document | None]:
        """(the fit of a write-up, its content words `terms`, with the row of `arxiv_id`, its best fit with another
        row, that row's document: the first of equal fits, in the day's order), 0.0 and None for the other row
        when there is none."""
        fits = self.fits(terms)
        row = self.rows[arxiv_id.lower()]
        own = float(fits[row])
        if len(fits) == 1:
            return own, 0.0, None
        fits[row] = -math.inf
        rival = int(fits.argmax())
        return own, float(fits[rival]), self.documents[rival]


def _as_analysed(terms: list[str]) -> list[str]:
    """The analyzer of an index: its documents and write-ups come as their terms already (`_terms`)."""
    return terms


@functools.lru_cache(maxsize=8)  # a day given as a list, section after section, is indexed once too
def _index(documents: tuple[_Document, ...]) -> _Index | None:
    """The index of `documents`, the first of each arXiv id, in their order; None when none has a content word."""
    first: dict[str, _Document] = {}
    for document in documents:
        first.setdefault(document[0].lower(), document)
    # A callable analyzer and norm=None are documented options; scikit-learn's unannotated defaults ("word", "l2")
    # make a type checker read both parameters as str.
    vectorizer = TfidfVectorizer(
        analyzer=_as_analysed,  # pyright: ignore[reportArgumentType]
        sublinear_tf=True,
        smooth_idf=True,
        norm=None,  # pyright: ignore[reportArgumentType]
    )
    try:
        weights = vectorizer.fit_transform(_terms(f"{title}\n{abstract}") for _, title, abstract in first.values())
    except ValueError:  # scikit-learn's "empty vocabulary": nothing for a write-up to share
        return None
    rows = {arxiv_id: row for row, arxiv_id in enumerate(first)}
    return _Index(vectorizer, csr_matrix(normalize(weights)), rows, tuple(first.values()))


class Candidates:
    """The candidate papers of a day as the checks read them, built once and shared by every section of the
    day: the first paper of each lower-cased arXiv id (`by_id`, in the day's order) and their TF-IDF index,
    made on first use (a 1,000-paper day costs its sections one sparse product each, not an index each)."""

    def __init__(self, papers: Iterable[Paper] = ()) -> None:
        self.papers = tuple(papers)

    @classmethod
    def of(cls, day: Candidates | Iterable[Paper]) -> Candidates:
        """`day` as Candidates (itself when it is)."""
        return day if isinstance(day, Candidates) else cls(day)

    @functools.cached_property
    def by_id(self) -> dict[str, Paper]:
        first: dict[str, Paper] = {}
        for paper in self.papers:
            first.setdefault(paper.arxiv_id.lower(), paper)
        return first

    @functools.cached_property
    def index(self) -> _Index | None:
        """The index of the papers (the first of each arXiv id); None when none has a content word."""
        return _index(_documents(self.papers))

    def index_with(self, paper: Paper) -> _Index | None:
        """The index these papers make with `paper`: the day's own when `paper` is among them; checked
        alone, or against another day's papers, it is added last."""
        if paper.arxiv_id.lower() in self.by_id:
            return self.index
        return Candidates((*self.papers, paper)).index


def named_paper(content: BaseModel, paper: Paper, day: Candidates | Sequence[Paper] = ()) -> Paper | None:
    """The paper (`paper` or one of `day`) a write-up's echoed arXiv id or title names, None when it
    names none: an id equal to a candidate's (echoed_id: prefix, version and URL forms aside) wins;
    else an echoed title all of whose content words are `paper`'s names `paper`; else the candidate
    whose title best matches it (title_match >= MIN_TITLE_MATCH, `paper` on a tie)."""
    day = Candidates.of(day)
    own = paper.arxiv_id.lower()
    echoed = (echoed_id(content) or "").lower()
    by_id = (paper if echoed == own else day.by_id.get(echoed)) if echoed else None
    title = getattr(content, "title", None)
    if by_id is not None or not title:
        return by_id
    if content_words(title) and content_words(title) <= content_words(paper.title):
        return paper  # cut short or recased: another title may match these few words better, but they are its own
    candidates = [paper, *(p for arxiv_id, p in day.by_id.items() if arxiv_id != own)]
    # max keeps the first of equal scores, and `paper` comes first
    score, best = max(((title_match(title, p.title), p) for p in candidates), key=lambda found: found[0])
    return best if score >= MIN_TITLE_MATCH else None


def unfit(writeup: str, paper: Paper, day: Candidates | Sequence[Paper] = ()) -> str | None:
    """Why the words of `writeup` may not describe `paper`, None when they do: another paper of `day`
    fits them better, or `paper` fits them less than MIN_FIT (TF-IDF cosine similarity with each one's
    title and abstract). Every candidate is compared on the same footing, its title and abstract, as
    the calibration was: write-ups from full texts still fit their own abstract best. The day's index is
    built on its first section and serves the rest (one sparse product over the day's papers each)."""
    terms = _terms(writeup)
    if not terms:
        return None  # nothing to compare: no content words
    index = Candidates.of(day).index_with(paper)
    own, rival_fit, rival = index.compare(terms, paper.arxiv_id) if index else (0.0, 0.0, None)
    if rival is not None and rival_fit > own and rival_fit >= MIN_FIT:  # text that fits no paper is not another's
        arxiv_id, title, _ = rival
        return f"its text fits another paper of today better: {title} ({arxiv_id})"
    if own < MIN_FIT:
        return f"its text shares little with the title and abstract (similarity {own:.2f}, at least {MIN_FIT} expected)"
    return None


def problems(writeup: str, paper: Paper, day: Candidates | Sequence[Paper] = (), figures: bool = True) -> list[str]:
    """Why `writeup` may not describe `paper` (empty when it is grounded): `unfit` against the
    candidates of `day`, and with `figures`, a figure its source (title, abstract, full text) lacks."""
    source = f"{paper.title}\n{paper.summary}\n{paper.fulltext or ''}"
    reasons = [unfit(writeup, paper, day), fabricated_figures(writeup, source) if figures else None]
    return [reason for reason in reasons if reason]


def section_text(content: BaseModel) -> str:
    """The prose of a section's content, one part a line: every field but the echoed id and title, and
    of a review point its title and text. A point's `evidence` is left out: it is copied from the paper
    (digest.write.quotes checks that), so it would match the source whatever the point says, and a
    review of quotes alone would pass."""
    parts: list[str] = []
    for name in type(content).model_fields:
        if name in ("arxiv_id", "title"):
            continue
        value = getattr(content, name)
        for item in value if isinstance(value, list) else [value]:
            parts.extend([item.title, item.text] if isinstance(item, ReviewPoint) else [str(item)])
    return "\n".join(parts)


def _cut(raw: object) -> str:
    """An echoed value flattened to one line and cut to ECHO_CHARS, for a note or reason."""
    flat = " ".join(str(raw or "").split())
    return flat if len(flat) <= ECHO_CHARS else flat[: ECHO_CHARS - 1] + "…"


def _echo(content: BaseModel) -> str:
    return f"arXiv id '{_cut(getattr(content, 'arxiv_id', ''))}', title '{_cut(getattr(content, 'title', ''))}'"


def _garbled(content: BaseModel, paper: Paper) -> list[str]:
    """Notes on an echo that names `paper` but not as given: an id that is not its id, a title with
    words its title lacks (cut short or recased is as given)."""
    notes = []
    if (echoed_id(content) or "").lower() != paper.arxiv_id.lower():
        notes.append(
            f"echoed arXiv id '{_cut(getattr(content, 'arxiv_id', ''))}' is garbled; the title names this paper"
        )
    title = getattr(content, "title", None) or ""
    if not content_words(title) <= content_words(paper.title):
        notes.append(f"echoed title differs from this paper's ({_echo(content)})")
    return notes


def check_section(
    section: Section, paper: Paper, day: Candidates | Sequence[Paper] = (), content_checks: bool = True
) -> Section:
    """`section` checked against `paper` and every candidate paper of the day (`day`; `paper` may be
    among them): marked unverified, the reasons as its error, when its answer names another paper of
    the day, or names none while its text fails (`problems`, with `content_checks`; no figures check
    for research directions); otherwise an echo that names `paper` garbled, or names no paper, is added
    to its notes (the echo rule of the module docstring). Sections without content are returned as
    they are."""
    if section.status != "ok" or section.content is None:
        return section
    content, day = section.content, Candidates.of(day)
    figures = not isinstance(content, ResearchDirections)
    found = problems(section_text(content), paper, day, figures) if content_checks else []
    named = named_paper(content, paper, day)
    notes = list(section.notes)
    echoed = echoed_id(content)
    if named is None and found:
        # Shown on the page: the echoed id when it is id-shaped, never the echo's free text.
        found.append(f"it names no paper of today (arXiv id {echoed})" if echoed else "it names no paper of today")
    elif named is None:
        notes.append(f"it names no paper of today ({_echo(content)})")
    elif named.arxiv_id.lower() != paper.arxiv_id.lower():
        found.insert(0, f"it names another paper of today: {named.title} ({named.arxiv_id})")
    else:
        notes += _garbled(content, paper)
    if not found:
        return section.model_copy(update={"notes": notes})
    return section.model_copy(update={"status": "unverified", "error": "; ".join(found), "notes": notes})
