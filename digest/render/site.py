"""The site around the day pages: `<date>/digest.json` (the whole Digest, versioned) and reading
it back, the archive `index.html` (every built date, newest first) and `feed.xml` (Atom,
RFC 4287, via feedgen).

Each day's digest.json is the source of truth: publishing a day (digest.render.publish) renders
its page and re-renders its neighbours from their JSON, so previous/next links stay right without
any LLM call; `digest render` re-renders every day. A file of an earlier schema version is read
through UPGRADES, one step per version, so days published before a change still render.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

from feedgen.feed import FeedGenerator
from pydantic import TypeAdapter, ValidationError

from digest.errors import DigestError
from digest.models import Digest, Text
from digest.render.html import environment, stylesheet
from digest.words import plural

SCHEMA_VERSION = 2  # bump when a field of Digest changes meaning or disappears, and add its upgrade
DAY_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
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


def digest_json(digest: Digest) -> str:
    """The text of `<date>/digest.json`: {"schema_version": SCHEMA_VERSION, "digest": <Digest>}."""
    return json.dumps(
        {"schema_version": SCHEMA_VERSION, "digest": digest.model_dump(mode="json")}, ensure_ascii=False, indent=1
    )


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


# UPGRADES[n] takes the "digest" of a digest.json of schema version n to version n + 1 (read only:
# the file keeps its version until the day is published again). Append only; never edit one.
UPGRADES = {1: _points_and_paragraphs}


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


def load_digests(output: Path, strict: bool = False) -> list[Digest]:
    """The digest of every day folder of `output`, oldest first.

    A day folder is named YYYY-MM-DD and holds a digest.json of that date (another folder, such as
    a backup `2026-04-30.bak/`, is not a day). A day folder whose page exists but whose digest.json
    is missing, unreadable, of another schema version or of another date is skipped with a warning,
    or with `strict` raises SiteError naming each.
    """
    digests, problems = [], []
    for folder in sorted(output.iterdir()) if output.is_dir() else []:
        if not (folder.is_dir() and DAY_FOLDER.fullmatch(folder.name)):
            continue
        try:
            digest = _read_day(folder)
        except SiteError as exc:
            problems.append(str(exc))
            continue
        if digest is not None:
            digests.append(digest)
    if problems and strict:
        raise SiteError("; ".join(problems) + " (fix or remove it; nothing was rendered)")
    for problem in problems:
        log.warning("%s; the day is left out of the archive and the feed", problem)
    return digests


def read_published(output: Path, date: dt.date) -> Digest | None:
    """The published digest of `date` under `output`, or None when there is none or it cannot be
    read (a warning says why: the rebuild then publishes as if the day were new)."""
    try:
        return _read_day(output / date.isoformat())
    except SiteError as exc:
        log.warning("%s; the rebuild cannot keep anything of it", exc)
        return None


def _read_day(folder: Path) -> Digest | None:
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


def render_archive(digests: list[Digest]) -> str:
    """The archive page: every date, newest first, with counts and top headlines."""
    css, csp = stylesheet()
    return environment().get_template("archive.html.j2").render(days=list(reversed(digests)), css=css, csp=csp)


def render_feed(digests: list[Digest], site_url: str | None) -> str:
    """An Atom feed with one entry per day (newest 30), summary = the Today in AI overview.

    The same digests give the same bytes: an entry's `updated` is its digest's generated_at and the
    feed's is the newest entry's (RFC 4287 4.2.15: the last significant change), never the clock,
    so a re-render of unchanged days changes nothing a feed reader sees. With `site_url` every link
    and id is absolute under it; without, links are relative to feed.xml and ids are URNs.
    """
    base = (site_url or "").rstrip("/")
    root = f"{base}/" if base else ""
    fg = FeedGenerator()
    fg.id(root or "urn:paperbot-daily-digest")
    fg.title("PaperBot Daily Digest")
    fg.subtitle("New arXiv papers and AI news, every day")
    fg.link(href=f"{root}feed.xml", rel="self")
    fg.link(href=root or "./", rel="alternate")
    fg.language("en")
    days = digests[-30:]
    for d in days:
        entry = fg.add_entry()
        page = f"{root}{d.date.isoformat()}/"
        entry.id(page if base else f"urn:paperbot-daily-digest:{d.date.isoformat()}")
        entry.title(f"PaperBot Daily Digest — {d.date.isoformat()}")
        entry.link(href=page, rel="alternate")
        entry.published(d.generated_at)
        entry.updated(d.generated_at)
        content = d.overview.content
        overview = content.markdown if d.overview.status == "ok" and content is not None else ""
        entry.summary(
            overview
            or f"{plural(len(d.papers), 'paper')}, {plural(d.article_count, 'news article')}, "
            f"{plural(len(d.topics), 'topic')}."
        )
    fg.updated(max((d.generated_at for d in days), default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)))
    return fg.atom_str(pretty=True).decode("utf-8")
