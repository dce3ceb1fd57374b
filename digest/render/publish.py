"""Publishing the site, all or nothing: a built day (`publish`) or every day again (`render_site`).

Everything a publication changes is first written under temporary names: the day's new folder
`.<date>.partial/` (digest.json, index.html, papers/), the neighbouring days' pages, the archive
and the feed. Only when every write has succeeded is it switched in: the day's folder in one step
(files.exchange), then each other file by a rename. A publication that fails (a full disk) or is
killed leaves the published site as it was, plus temp files the next run removes; a reader never
sees a day whose page, paper pages and digest.json disagree.

A paper page is a permalink (later days link to it): a rebuild that no longer has the paper keeps
its page.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

import feedparser

from digest.config import SiteConfig
from digest.files import TEMP_SUFFIX, exchange, remove_partial_files, write_atomic, write_temp
from digest.models import Digest
from digest.render.html import paper_page, render_page, render_paper_page
from digest.render.site import digest_json, load_digests, render_archive, render_feed

log = logging.getLogger(__name__)


class Publication:
    """Files written under temporary names, put in place by `commit` (or dropped by `discard`)."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temp file, final path)

    def write(self, path: Path, data: str | bytes) -> None:
        """Stage `data` for `path`; raises OSError naming `path`."""
        self._staged.append((write_temp(path, data), path))

    def commit(self) -> None:
        """Rename every staged file onto its path, in the order they were written."""
        for temp, path in self._staged:
            os.replace(temp, path)
        self._staged.clear()

    def discard(self) -> None:
        """Drop every staged file; nothing published changes."""
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()


class DayPublication(Publication):
    """A day's new folder, complete under a temporary name, and the other files that go with it
    (the neighbours' pages, the archive, the feed, and whatever the caller stages: the run record).
    `commit` switches the folder in one step, then renames the rest."""

    def __init__(self, day: Path) -> None:
        super().__init__()
        self.day = day
        self.staging = day.with_name(f".{day.name}{TEMP_SUFFIX}")

    @property
    def page(self) -> Path:
        return self.day / "index.html"

    def commit(self) -> None:
        if self.day.exists():
            exchange(self.staging, self.day)
            shutil.rmtree(self.staging)  # now the previous version of the day
        else:
            os.replace(self.staging, self.day)
        super().commit()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        super().discard()


def stage_day(digest: Digest, output: Path, site: SiteConfig | None = None) -> DayPublication:
    """Everything publishing `digest` changes, written under temporary names: the day's folder,
    its neighbours' pages (their previous/next links may change), the archive and the feed. Commit
    it, or discard it. Raises OSError naming the file that could not be written, with whatever was
    staged already removed."""
    site = site or SiteConfig()
    remove_partial_files(output)
    digests = sorted([d for d in load_digests(output) if d.date != digest.date] + [digest], key=lambda d: d.date)
    i = digests.index(digest)
    staged = DayPublication(output / digest.date.isoformat())
    try:
        _write_day(staged.staging, digest, _neighbours(digests, i), site, kept_from=staged.day)
        for j in (i - 1, i + 1):
            if 0 <= j < len(digests):
                staged.write(
                    output / digests[j].date.isoformat() / "index.html",
                    render_page(digests[j], *_neighbours(digests, j), site.inline_max),
                )
        _write_site(staged, output, digests, site)
    except BaseException:
        staged.discard()
        raise
    return staged


def publish(digest: Digest, output: Path, site: SiteConfig | None = None) -> Path:
    """Publish `digest` (stage_day, then commit); returns the path of the day's index.html.

    Raises OSError naming the file that could not be written; the published site is then unchanged.
    """
    staged = stage_day(digest, output, site or SiteConfig())
    staged.commit()
    return staged.page


def render_site(output: Path, site: SiteConfig | None = None) -> list[Digest]:
    """Re-render every day page and paper page, the archive and the feed from the stored
    digest.json files; no network and no LLM. Returns the digests, oldest first.

    Raises SiteError (nothing written) when a day's digest.json cannot be read, and OSError naming
    the file that could not be written (the site is then unchanged).
    """
    site = site or SiteConfig()
    remove_partial_files(output)
    digests = load_digests(output, strict=True)
    staged = Publication()
    try:
        for i, day in enumerate(digests):
            folder = output / day.date.isoformat()
            staged.write(folder / "index.html", render_page(day, *_neighbours(digests, i), site.inline_max))
            for writeup in day.papers:
                staged.write(folder / paper_page(writeup.paper.arxiv_id), render_paper_page(day, writeup))
        _write_site(staged, output, digests, site)
    except BaseException:
        staged.discard()
        raise
    staged.commit()
    return digests


def _neighbours(digests: list[Digest], i: int) -> tuple[dt.date | None, dt.date | None]:
    before = digests[i - 1].date if i > 0 else None
    after = digests[i + 1].date if i + 1 < len(digests) else None
    return before, after


def _write_day(
    folder: Path, digest: Digest, neighbours: tuple[dt.date | None, dt.date | None], site: SiteConfig, kept_from: Path
) -> None:
    """The day's complete folder: digest.json, index.html and a page per paper, plus the paper
    pages of `kept_from` (the published day) for papers this digest no longer has."""
    write_atomic(folder / "digest.json", digest_json(digest))
    write_atomic(folder / "index.html", render_page(digest, *neighbours, site.inline_max))
    wanted = set()
    for writeup in digest.papers:
        relative = paper_page(writeup.paper.arxiv_id)
        wanted.add(relative)
        write_atomic(folder / relative, render_paper_page(digest, writeup))
    for old in sorted((kept_from / "papers").glob("*.html")):
        if f"papers/{old.name}" not in wanted:
            write_atomic(folder / "papers" / old.name, old.read_bytes())


def _write_site(staged: Publication, output: Path, digests: list[Digest], site: SiteConfig) -> None:
    staged.write(output / "index.html", render_archive(digests))
    staged.write(output / "feed.xml", render_feed(digests, feed_base(output, site)))


def feed_base(output: Path, site: SiteConfig) -> str | None:
    """The public URL the feed's ids and links are built on: `site.url`, or else the one the
    published feed.xml was built on, so that a run without the setting (a missing or mistyped
    config) does not change every id and make feed readers show every entry as new."""
    if site.url:
        return site.url
    published = output / "feed.xml"
    if not published.is_file():
        return None
    feed_id = feedparser.parse(published.read_bytes()).feed.get("id", "")
    if feed_id.startswith(("https://", "http://")):
        log.warning("site.url is not set: the feed keeps the URL it was published with, %s (set site.url)", feed_id)
        return feed_id
    return None
