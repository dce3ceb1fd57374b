"""The site around the day pages: `<date>/digest.json` (the whole Digest, versioned) and reading
it back, the archive (`index.html`: the latest days, and past LATEST_DAYS days a line of years, each
year's days on `archive/<year>.html`, by month); the feeds are digest.render.feeds.

The archive and feed.xml are rendered from ArchiveDay records, what they show of a day, so that a
build takes them from the archive index (digest.render.index) instead of reading every digest.json.

Each day's digest.json is the source of truth: publishing a day (digest.render.publish) renders
its page and re-renders its neighbours from their JSON, so previous/next links stay right without
any LLM call; `digest render` re-renders every day. A file of an earlier schema version is read
through UPGRADES, one step per version, so days published before a change still render.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from digest.errors import DigestError
from digest.models import Digest, Text
from digest.render import wording
from digest.render.html import environment, stylesheet
from digest.words import plural

SCHEMA_VERSION = 3  # bump when a field of Digest changes meaning or disappears, and add its upgrade
DAY_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
LATEST_DAYS = 30  # the days the archive's index page lists; a larger archive also has a page per year
HEADLINES = (3, 2)  # the archive shows the titles of a day's first 3 papers and first 2 topics
ARCHIVE_FOLDER = "archive"  # the year pages, beside the day folders
log = logging.getLogger(__name__)


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of `<date>/digest.json`, derived from the pydantic models:
    {"schema_version": SCHEMA_VERSION, "digest": Digest}. docs/digest.schema.json is this, committed."""
    digest = Digest.model_json_schema(mode="serialization")
    defs = digest.pop("$defs")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "PaperBot Daily Digest: <date>/digest.json",
        "type": "object",
        "properties": {"schema_version": {"const": SCHEMA_VERSION}, "digest": {"$ref": "#/$defs/Digest"}},
        "required": ["schema_version", "digest"],
        "$defs": {"Digest": digest, **defs},
    }


class SiteError(DigestError):
    """A day folder of the site whose digest.json is missing, unreadable, of another schema version
    or of another date; nothing was written."""


class _DigestFile(BaseModel):
    """What `<date>/digest.json` holds."""

    schema_version: int
    digest: Digest


def digest_json(digest: Digest) -> str:
    """The text of `<date>/digest.json`: {"schema_version": SCHEMA_VERSION, "digest": <Digest>}, indented
    by one space, non-ASCII characters as they are. Serialized by pydantic in one pass, without the
    intermediate dicts of a model_dump (a day of 1,000 write-ups would hold them all at once)."""
    return _DigestFile.model_construct(schema_version=SCHEMA_VERSION, digest=digest).model_dump_json(indent=1)


def _paragraphs(text: str) -> list[str]:
    """One Markdown text as paragraphs: split at blank lines, a piece too short to be a paragraph
    (models.Text, e.g. a heading) kept with the next one, so the joined text reads as before."""
    pieces: list[str] = []
    for piece in re.split(r"\n\s*\n", text.strip()):
        if pieces and not _is_paragraph(pieces[-1]):
            pieces[-1] += "\n\n" + piece
        else:
            pieces.append(piece)
    if len(pieces) > 1 and not _is_paragraph(pieces[-1]):
        pieces[-2] += "\n\n" + pieces.pop()
    return pieces


_PARAGRAPH = TypeAdapter(Text)


def _is_paragraph(text: str) -> bool:
    try:
        _PARAGRAPH.validate_python(text)
    except ValidationError:
        return False
    return True


def _points_and_paragraphs(digest: dict) -> dict:
    """Schema version 1 -> 2: a review part was one text, now a list of points (one, with no title
    and no evidence, never checked); a commentary {"commentary": s} and an overview {"overview": s}
    are now {"paragraphs": [...]}, `s` split at its blank lines. Changes `digest` in place."""
    for writeup in digest.get("papers", []):
        review = writeup["review"].get("content") or {}
        for part, text in review.items():
            if part not in ("arxiv_id", "title"):  # version 1's review: the echoes and six texts
                review[part] = [{"title": "", "text": text, "evidence": "", "evidence_found": None}]
    sections = [(t["commentary"], "commentary") for t in digest.get("topics", [])]
    for section, field in [*sections, (digest.get("overview", {}), "overview")]:
        if section.get("content"):
            section["content"] = {"paragraphs": _paragraphs(section["content"][field])}
    return digest


def _stories_and_profile(digest: dict) -> dict:
    """Schema version 2 -> 3: the news became stories (an article may list `also` and a
    `discussion`), `topic_plan_status` says whether the model named the topics (not whether it
    grouped them), and the day gained `listed` and each paper a `relevance`: all optional, so a
    version 2 digest reads as it is (its topics were grouped by the model)."""
    return digest


# UPGRADES[n] takes the "digest" of a digest.json of schema version n to version n + 1 (read only:
# the file keeps its version until the day is published again). Append only; never edit one.
UPGRADES = {1: _points_and_paragraphs, 2: _stories_and_profile}


def upgrade(payload: dict) -> dict:
    """The "digest" of a digest.json payload {"schema_version": n, "digest": {...}} at SCHEMA_VERSION,
    through UPGRADES. Raises ValueError for a version it cannot read (unknown, or newer), KeyError
    or TypeError for a payload that is not of the version it names."""
    version, digest = payload.get("schema_version"), payload["digest"]
    while version in UPGRADES:
        digest, version = UPGRADES[version](digest), version + 1
    if version != SCHEMA_VERSION:
        raise ValueError(f"schema version {payload.get('schema_version')}, expected {SCHEMA_VERSION} or earlier")
    return digest


def day_names(output: Path) -> list[str]:
    """The names of the day folders of `output`, oldest first: folders named YYYY-MM-DD (another
    folder, such as a backup `2026-04-30.bak/` or `archive/`, is not a day); none when `output` does
    not exist. Names, not paths: the archive index stats every day at each build, and 3,650 Path
    objects cost more than the stats."""
    if not output.is_dir():
        return []
    with os.scandir(output) as entries:  # a DirEntry knows whether it is a folder without a stat call
        return sorted(e.name for e in entries if DAY_FOLDER.fullmatch(e.name) and e.is_dir())


def load_digests(output: Path, strict: bool = False) -> list[Digest]:
    """The digest of every day folder of `output` (day_names), oldest first.

    A day folder holds a digest.json of its date. One whose page exists but whose digest.json is
    missing, unreadable, of another schema version or of another date is skipped with a warning,
    or with `strict` raises SiteError naming each.
    """
    digests, problems = [], []
    for name in day_names(output):
        try:
            digest = read_day(output / name)
        except SiteError as exc:
            problems.append(str(exc))
            continue
        if digest is not None:
            digests.append(digest)
    if problems and strict:
        raise SiteError("; ".join(problems) + " (fix or remove it; nothing was rendered)")
    for problem in problems:
        left_out(problem)
    return digests


def left_out(problem: str) -> None:
    """Warn that a day is left out of the archive and the feed because of `problem` (a SiteError's text)."""
    log.warning("%s; the day is left out of the archive and the feed", problem)


def read_published(output: Path, date: dt.date) -> Digest | None:
    """The published digest of `date` under `output`, or None when there is none or it cannot be
    read (a warning says why: the rebuild then publishes as if the day were new)."""
    try:
        return read_day(output / date.isoformat())
    except SiteError as exc:
        log.warning("%s; the rebuild cannot keep anything of it", exc)
        return None


def read_day(folder: Path) -> Digest | None:
    """The digest of one day folder; None for a folder with neither page nor digest.json. Raises
    SiteError for one that cannot be read."""
    path = folder / "digest.json"
    if not path.exists():
        if (folder / "index.html").exists():
            raise SiteError(f"{path} is missing")
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        digest = Digest.model_validate(upgrade(payload))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise SiteError(f"{path} is unreadable: {str(exc).splitlines()[0]}") from None
    if digest.date.isoformat() != folder.name:
        raise SiteError(f"{path} is the digest of {digest.date}, not of {folder.name}")
    return digest


@dataclass(frozen=True)
class ArchiveDay:
    """What the archive pages and the feed show of one published day (ArchiveDay.of its Digest);
    the archive index (digest.render.index) keeps one per day."""

    date: dt.date
    generated_at: dt.datetime  # the time of its feed.xml entry (digest.render.feeds)
    papers: int  # papers written up
    articles: int  # Digest.article_count
    topics: int
    no_mailing: str | None  # wording.no_mailing: 'Saturday', 'Sunday', 'holiday', or None
    backfilled: bool  # wording.lists_backfilled_papers
    paper_titles: tuple[str, ...]  # the titles of the first HEADLINES[0] papers written up
    topic_titles: tuple[str, ...]  # the titles of the first HEADLINES[1] topics
    summary: str  # its feed.xml entry's summary: the Today in AI overview, else the day's counts

    @classmethod
    def of(cls, digest: Digest) -> ArchiveDay:
        """What the archive and the feed show of `digest`."""
        content = digest.overview.content
        overview = content.markdown if digest.overview.status == "ok" and content is not None else ""
        counts = (
            f"{plural(len(digest.papers), 'paper')}, {plural(digest.article_count, 'news article')}, "
            f"{plural(len(digest.topics), 'topic')}."
        )
        return cls(
            date=digest.date,
            generated_at=digest.generated_at,
            papers=len(digest.papers),
            articles=digest.article_count,
            topics=len(digest.topics),
            no_mailing=wording.no_mailing(digest),
            backfilled=wording.lists_backfilled_papers(digest),
            paper_titles=tuple(w.paper.title for w in digest.papers[: HEADLINES[0]]),
            topic_titles=tuple(t.title for t in digest.topics[: HEADLINES[1]]),
            summary=overview or counts,
        )


def paged(years: Mapping[int, int]) -> bool:
    """Whether an archive of `years` (year -> number of days) has year pages: more than LATEST_DAYS days."""
    return sum(years.values()) > LATEST_DAYS


def year_page(year: int) -> str:
    """The path of `year`'s archive page, relative to the output folder: 'archive/2026.html'."""
    return f"{ARCHIVE_FOLDER}/{year:04d}.html"


def render_archive(digests: Sequence[Digest]) -> str:
    """The archive's index page of `digests` (oldest first), for a caller that holds them all."""
    days = [ArchiveDay.of(d) for d in reversed(digests)]
    return render_archive_index(days[:LATEST_DAYS], Counter(d.date.year for d in days))


def render_archive_index(latest: Sequence[ArchiveDay], years: Mapping[int, int]) -> str:
    """The archive's `index.html`: the `latest` days (newest first) with counts and top headlines;
    when the archive is `paged`, first a line of its `years` (year -> number of days), newest first,
    each linking to its year page."""
    css, csp = stylesheet(search=True)
    return (
        environment()
        .get_template("archive.html.j2")
        .render(
            year=None,
            days=latest,
            years=sorted(years.items(), reverse=True) if paged(years) else [],
            total=sum(years.values()),
            year_page=year_page,
            root="",
            css=css,
            csp=csp,
        )
    )


def render_archive_year(year: int, days: Sequence[ArchiveDay], years: Sequence[int]) -> str:
    """The page of one `year` (year_page): its `days` (newest first) under a heading per month,
    linked to the neighbouring years among `years` (every year of the archive) and the index page."""
    css, csp = stylesheet(search=True)
    earlier, later = [y for y in years if y < year], [y for y in years if y > year]
    months = [(month, list(group)) for month, group in groupby(days, key=lambda d: d.date.replace(day=1))]
    return (
        environment()
        .get_template("archive.html.j2")
        .render(
            year=year,
            days=days,
            months=months,
            previous=max(earlier, default=None),
            following=min(later, default=None),
            year_page=year_page,
            root="../",
            css=css,
            csp=csp,
        )
    )
