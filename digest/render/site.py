"""The site around the day pages: `<date>/digest.json` (the whole Digest, versioned), the archive
`index.html` (every built date, newest first) and `feed.xml` (Atom, RFC 4287, via feedgen).

Each day's digest.json is the source of truth: publishing a day renders its page and re-renders
its neighbours from their JSON, so previous/next links stay right without any LLM call; `digest
render` re-renders every day.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from feedgen.feed import FeedGenerator
from pydantic import ValidationError

from digest.config import SiteConfig
from digest.files import remove_partial_files, write_atomic
from digest.models import Digest
from digest.render.html import (
    environment,
    paper_page,
    render_page,
    render_paper_page,
    stylesheet,
)
from digest.words import plural

SCHEMA_VERSION = 1  # bump when a field of Digest changes meaning or disappears
log = logging.getLogger(__name__)


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of `<date>/digest.json`, derived from the pydantic models:
    {"schema_version": 1, "digest": Digest}. docs/digest.schema.json is this, committed."""
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


def write_json(digest: Digest, output: Path) -> Path:
    """Write `<output>/<date>/digest.json`: {"schema_version": 1, "digest": <Digest>}."""
    path = output / digest.date.isoformat() / "digest.json"
    payload = {"schema_version": SCHEMA_VERSION, "digest": digest.model_dump(mode="json")}
    write_atomic(path, json.dumps(payload, ensure_ascii=False, indent=1))
    return path


def load_digests(output: Path) -> list[Digest]:
    """Every digest.json under `output`, oldest first; unreadable or foreign files are skipped."""
    digests = []
    for path in sorted(output.glob("*/digest.json")):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            if payload.get("schema_version") != SCHEMA_VERSION:
                log.warning("%s: schema version %s, expected %s; skipped", path, payload.get("schema_version"), SCHEMA_VERSION)
                continue
            digests.append(Digest.model_validate(payload["digest"]))
        except (OSError, ValueError, KeyError, ValidationError) as exc:
            log.warning("%s: unreadable digest, skipped: %s", path, exc)
    return sorted(digests, key=lambda d: d.date)


def render_archive(digests: list[Digest]) -> str:
    """The archive page: every date, newest first, with counts and top headlines."""
    css, csp = stylesheet()
    return environment().get_template("archive.html.j2").render(
        days=list(reversed(digests)), css=css, csp=csp,
    )


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
        overview = d.overview.content.overview if d.overview.status == "ok" else ""
        entry.summary(overview or f"{plural(len(d.papers), 'paper')}, {plural(d.article_count, 'news article')}, "
                                  f"{plural(len(d.topics), 'topic')}.")
    fg.updated(max((d.generated_at for d in days), default=dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)))
    return fg.atom_str(pretty=True).decode("utf-8")


def publish(digest: Digest, output: Path, site: SiteConfig = SiteConfig()) -> Path:
    """Write the day's digest.json, page and paper pages, re-render its neighbours (their
    previous/next links may change), then the archive and the feed. Returns the path of the day's
    index.html."""
    write_json(digest, output)
    render_site(output, site, only={digest.date})
    return output / digest.date.isoformat() / "index.html"


def write_paper_pages(digest: Digest, output: Path) -> None:
    """Write `<output>/<date>/papers/<slug>.html` for every paper of the day and remove the pages
    of papers the day no longer has (a rebuild with another selection)."""
    folder = output / digest.date.isoformat()
    wanted = set()
    for writeup in digest.papers:
        relative = paper_page(writeup.paper.arxiv_id)
        wanted.add(folder / relative)
        write_atomic(folder / relative, render_paper_page(digest, writeup))
    for old in (folder / "papers").glob("*.html"):
        if old not in wanted:
            old.unlink()


def render_site(output: Path, site: SiteConfig = SiteConfig(), only: set[dt.date] | None = None) -> list[Digest]:
    """Re-render the day pages (all, or the days in `only` and their neighbours), the paper pages
    of the days in `only` (or of all), the archive and the feed from the stored digest.json files.

    No network and no LLM; returns the digests found, oldest first.
    """
    remove_partial_files(output)
    digests = load_digests(output)
    dates = [d.date for d in digests]
    for i, day in enumerate(digests):
        if only is not None and not only & set(dates[max(i - 1, 0): i + 2]):
            continue  # neither this day nor a neighbour changed: its page is as it was
        before = dates[i - 1] if i > 0 else None
        after = dates[i + 1] if i + 1 < len(digests) else None
        write_atomic(output / day.date.isoformat() / "index.html", render_page(day, before, after, site.inline_max))
        if only is None or day.date in only:  # paper pages do not link to other days
            write_paper_pages(day, output)
    write_atomic(output / "index.html", render_archive(digests))
    write_atomic(output / "feed.xml", render_feed(digests, site.url))
    return digests
