"""The reader profile behind `papers.rank: reader`: what the reader has read, whom they follow, what
they want more and less of (the `reader:` section of sources.yaml).

It owns the settings model (`ReaderConfig`), the loading of the profile (`load_profile`: a BibTeX
export of Zotero, Mendeley or Google Scholar parsed with bibtexparser's v2 API, plus the papers the
`papers` ids name, which the pipeline fetches from the export API and hands in) and the matching of
followed authors on normalized names. Scoring candidates against a profile is digest.select.rank's.
No I/O but the BibTeX file.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NamedTuple

from bibtexparser.entrypoint import parse_string
from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts
from bibtexparser.model import Entry, ParsingFailedBlock
from pydantic import AfterValidator
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import LatexWalkerError

from digest.errors import ConfigError
from digest.models import Paper
from digest.strict import Strict


def _arxiv_id(raw: str) -> str:
    # Imported here: digest.config holds this settings model, and digest.fetch imports digest.config.
    from digest.fetch.arxiv_parse import ArxivError, split_id

    try:
        return split_id(raw)[0]  # the profile names a paper, not one of its versions
    except ArxivError as exc:
        raise ValueError(str(exc)) from None


# bibtexparser's LatexDecodingMiddleware settings (math kept verbatim, braces dropped), used on the two fields
# a profile reads and only where they hold LaTeX: the middleware decodes every field of every entry, 6 s for
# a 500-entry export.
_DECODER = LatexNodes2Text(math_mode="verbatim", keep_braced_groups=False)
_LATEX = re.compile(r"[\\{}$~]|--")  # a command, group, math, tie or dash
_BARE = re.compile(r"(?<!\\)([%&])")

EMBEDDED = "wordllama"  # the embedding model that ships its weights in its wheel; any other is the endpoint's


def _embedding_model(name: str | None) -> str | None:
    if name is not None and not name.strip():
        raise ValueError("an embedding model needs a name: wordllama, or a model of the endpoint")
    return name


class ReaderConfig(Strict):
    """The `reader:` section; every field is optional, and a profile with none set is empty."""

    library: Path | None = None  # a BibTeX file, relative to the configuration file's folder
    papers: list[Annotated[str, AfterValidator(_arxiv_id)]] = []  # arXiv ids (URLs and versions are cut to the id)
    authors: list[str] = []  # followed authors, any name order ("Smith, J." or "John Smith")
    interests: str | None = None  # free text: one interest per line, or separated by ";" or ","
    avoid: str | None = None  # free text, same form: what to push down
    rerank: bool = False  # with papers.rank: reader, the triage model re-ranks the closest (digest.write.rerank)
    # beside TF-IDF: "wordllama" (embedded) or the endpoint's model (/v1/embeddings); None: lexical only
    embeddings: Annotated[str | None, AfterValidator(_embedding_model)] = None


class LibraryItem(NamedTuple):
    """One paper the reader has: `key` is the BibTeX key or the arXiv id; `abstract` is "" when the
    entry has none (its title then stands for it)."""

    key: str
    title: str
    abstract: str

    @property
    def text(self) -> str:
        """What is compared with candidates: the title, then the abstract when there is one."""
        return f"{self.title}. {self.abstract}" if self.abstract else self.title


class AuthorName(NamedTuple):
    """A person's name reduced to what matching compares: the surname with its particles ("de la
    fontaine"), and the given names in order ("jean", "pierre"; an initial is one letter), all
    lowercase and without accents."""

    surname: str
    given: tuple[str, ...]


def _fold(text: str) -> str:
    """Lowercase without accents: "Müller" and "Muller" compare equal (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_NAME_PART = re.compile(r"[^\W\d_]+")  # letters only: "J.-P." -> "J", "P"; braces and dots go


def author_name(name: str) -> AuthorName:
    """`name` in any BibTeX name form ("Smith, John", "John Smith", "de la Fontaine, J.-P.",
    "Lee, Jr., Kai"; bibtexparser's name splitter, which follows BibTeX's own rules) as an AuthorName.

    Raises ValueError for a name with no letters, or one BibTeX cannot split (unbalanced braces,
    too many commas).
    """
    try:
        parts = parse_single_name_into_parts(name.strip())
    except InvalidNameError as exc:
        raise ValueError(f"author {name!r}: {exc}") from None
    surname = " ".join(_NAME_PART.findall(_fold(" ".join(parts.von + parts.last))))
    if not surname:
        raise ValueError(f"author {name!r}: no surname")
    given = tuple(t for t in _NAME_PART.findall(_fold(" ".join(parts.first))))
    return AuthorName(surname, given)


def same_person(a: AuthorName, b: AuthorName) -> bool:
    """Whether two names can be the same person: the same surname, and given names that agree as far
    as both go, an initial agreeing with any name it starts ("J. Smith" is "John Smith" and "John A.
    Smith", not "Jane Smith"). A name without given names matches on the surname alone."""
    if a.surname != b.surname:
        return False
    return all(x == y or (len(x) == 1 or len(y) == 1) and x[0] == y[0] for x, y in zip(a.given, b.given, strict=False))


class FollowedAuthors:
    """The followed authors, as written in the profile, matched against a paper's author list."""

    def __init__(self, names: Sequence[str]):
        """Raises ConfigError naming `reader.authors[i]` for a name that cannot be read."""
        self.names = list(names)
        self._by_surname: dict[str, list[tuple[AuthorName, str]]] = {}
        for i, name in enumerate(self.names):
            try:
                parsed = author_name(name)
            except ValueError as exc:
                raise ConfigError(f"reader.authors[{i + 1}]: {exc}") from None
            self._by_surname.setdefault(parsed.surname, []).append((parsed, name))

    def match(self, authors: Sequence[str]) -> str | None:
        """The first followed author (as the profile writes the name) among `authors`, else None.
        An author name that cannot be read is not anybody's."""
        if not self._by_surname:  # names are not parsed for nothing: a day has thousands of authors
            return None
        for author in authors:
            try:
                parsed = author_name(author)
            except ValueError:
                continue
            for followed, written in self._by_surname.get(parsed.surname, ()):
                if same_person(followed, parsed):
                    return written
        return None


def phrases(text: str) -> list[str]:
    """The interests in a free-text field: split at line breaks, ";" and ",", blanks dropped."""
    return [p.strip() for p in re.split(r"[\n;,]", text) if p.strip()]


def _bib_error(path: Path, block: ParsingFailedBlock) -> ConfigError:
    # bibtexparser counts lines from 0 and keeps its reason on the exception, not in str() of it.
    line = (block.start_line or 0) + 1
    reason = getattr(block.error, "abort_reason", None) or str(block.error) or type(block.error).__name__
    first = (block.raw or "").strip().splitlines()[:1]
    return ConfigError(f"{path}:{line}: malformed BibTeX entry {first[0][:60] if first else ''!r}: {reason}")


def _field(entry: Entry, key: str) -> str:
    """An entry's field on one line, its LaTeX decoded when it holds any ("" when the entry has none)."""
    found = entry.fields_dict.get(key)
    if not found:
        return ""
    value = str(found.value)
    # An export's bare "%" and "&" are text ("12% more"), not LaTeX's comment and column marks: read as a
    # comment, a "%" cut the rest of the abstract. Text the decoder fails on is kept as written, as
    # bibtexparser's decoding middleware keeps it.
    with contextlib.suppress(LatexWalkerError):
        value = _DECODER.latex_to_text(_BARE.sub(r"\\\1", value)) if _LATEX.search(value) else value
    return " ".join(value.split())


def read_library(path: Path) -> list[LibraryItem]:
    """The entries of the BibTeX file at `path` that have a title, LaTeX decoded ({\\"u} -> ü).

    Raises ConfigError naming the file (and the line, 1-based, of the first malformed entry) when
    the file cannot be read, is not UTF-8, or holds an entry bibtexparser cannot parse (a duplicate
    key included: an export never has one, so it means a damaged file).
    """
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the reader library: {exc.strerror}") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: the reader library is not UTF-8") from None
    library = parse_string(text)
    if library.failed_blocks:
        raise _bib_error(path, library.failed_blocks[0])
    items = [LibraryItem(e.key, _field(e, "title"), _field(e, "abstract")) for e in library.entries]
    return [item for item in items if item.title]


class Profile(NamedTuple):
    """A loaded reader profile. `interests` and `avoid` are the phrases of the free text, in order."""

    library: list[LibraryItem]
    authors: FollowedAuthors
    interests: list[str]
    avoid: list[str]

    @property
    def empty(self) -> bool:
        """Nothing to rank by (no library item, followed author or interest): the caller falls back to
        triage. `avoid` alone does not count: it only pushes papers down."""
        return not (self.library or self.authors.names or self.interests)


def load_profile(cfg: ReaderConfig, base: Path, papers: Sequence[Paper] = ()) -> Profile:
    """The profile `cfg` describes: the BibTeX library (`cfg.library`, relative to `base`, the
    configuration file's folder), then `papers` (the Papers of `cfg.papers`, fetched by the caller),
    the followed authors, the interest and avoid phrases.

    Raises ConfigError for a library file that is missing or malformed (file and line) and for a
    followed author's name that cannot be read. An empty profile is not an error: see Profile.empty.
    """
    library = read_library(base / cfg.library) if cfg.library else []
    library += [LibraryItem(p.arxiv_id, p.title, p.summary) for p in papers]
    return Profile(library, FollowedAuthors(cfg.authors), phrases(cfg.interests or ""), phrases(cfg.avoid or ""))
