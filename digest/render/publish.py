"""Publishing the site, all or nothing: a built day (`publish`) or every day again (`render_site`).

Everything a publication changes is first written under temporary names: the day's new folder
`.<date>.partial/` (digest.json, index.html, papers/), the neighbouring days' pages, the archive
and the feeds (feed.xml, papers.xml, for-you.xml). Only when every write has succeeded is it switched in: the
day's folder in one step (files.exchange), then each other file by a rename. A publication that
fails (a full disk) or is killed leaves the published site as it was, plus temp files the next run
removes; a reader never sees a day whose page, paper pages and digest.json disagree.

A paper page is a permalink (later days link to it): a rebuild that no longer has the paper keeps
its page.

What a publication needs of the other days (their dates, what the archive and the feeds show of
them) comes from the archive index (digest.render.index) in the data folder: publishing a day reads
no other day's digest.json but its two neighbours', whose pages it renders again. The index records
the day in a transaction committed with the publication. The archive's index page and the feeds are
written every time; a year page only when one of its days changed, or a year came or went.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import feedparser

from digest.config import SiteConfig
from digest.files import TEMP_SUFFIX, exchange, remove_partial_files, write_atomic, write_temp
from digest.models import Digest
from digest.render.feeds import (
    DAY_FEED,
    FEED_ENTRIES,
    FOR_YOU_FEED,
    PAPER_FEED,
    PAPER_FEED_DAYS,
    PAPER_FEED_ENTRIES,
    published_entries,
    render_feed,
    render_paper_feed,
)
from digest.render.html import paper_page, render_page, render_paper_page
from digest.render.index import ArchiveIndex, Stamp, index_path
from digest.render.site import (
    ARCHIVE_FOLDER,
    LATEST_DAYS,
    SiteError,
    digest_json,
    load_digests,
    paged,
    read_day,
    render_archive_index,
    render_archive_year,
    year_page,
)

log = logging.getLogger(__name__)


class Publication:
    """Files written under temporary names, put in place by `commit` (or dropped by `discard`)."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temp file, final path)
        self._removed: list[Path] = []

    def write(self, path: Path, data: str | bytes) -> None:
        """Stage `data` for `path`; raises OSError naming `path`."""
        self._staged.append((write_temp(path, data), path))

    def remove(self, path: Path) -> None:
        """Stage the removal of the published file `path` (a page the site no longer has)."""
        self._removed.append(path)

    def commit(self) -> None:
        """Rename every staged file onto its path, in the order they were written, then remove the
        files staged for removal."""
        for temp, path in self._staged:
            os.replace(temp, path)
        for path in self._removed:
            path.unlink(missing_ok=True)
        self._staged.clear()
        self._removed.clear()

    def discard(self) -> None:
        """Drop every staged file; nothing published changes."""
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()
        self._removed.clear()


class DayPublication(Publication):
    """A day's new folder, complete under a temporary name, and the other files that go with it
    (the neighbours' pages, the archive, the feed, and whatever the caller stages: the run record),
    with the day's record staged in the archive `index`. `commit` switches the folder in one step,
    renames the rest, then commits the index; `discard` rolls it back. Either closes the index."""

    def __init__(self, day: Path, index: ArchiveIndex) -> None:
        super().__init__()
        self.day = day
        self.staging = day.with_name(f".{day.name}{TEMP_SUFFIX}")
        self.index = index

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
        try:  # after the files: the day is published whatever happens to its record
            self.index.commit()
        except sqlite3.Error as exc:
            log.warning("the archive index could not record %s (%s): the next build reads it again", self.day, exc)
        self.index.close()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        super().discard()
        self.index.rollback()
        self.index.close()


def stage_day(digest: Digest, output: Path, site: SiteConfig | None = None, data: Path | None = None) -> DayPublication:
    """Everything publishing `digest` changes, written under temporary names: the day's folder,
    its neighbours' pages (their previous/next links may change), the archive and the feed, and the
    day's record in the archive index of the data folder `data` (synced with `output` first; None:
    an index in memory, built from every digest.json). Commit it, or discard it.

    Raises OSError naming the file that could not be written, with whatever was staged already
    removed; SiteError when a neighbouring day's digest.json became unreadable since the sync.
    """
    site = site or SiteConfig()
    _remove_leftovers(output)
    index = ArchiveIndex(index_path(data))
    staged = DayPublication(output / digest.date.isoformat(), index)
    try:
        changed = index.sync(output)
        before, after = index.neighbours(digest.date)
        _write_day(staged.staging, digest, (before, after), site, kept_from=staged.day)
        index.stage(digest, Stamp.of(staged.staging / "digest.json"))  # renaming the folder keeps the file's stamp
        for neighbour in (before, after):
            if neighbour is not None:
                _write_neighbour(staged, output, neighbour, index, site)
        _write_site(staged, output, index, {d.year for d in changed | {digest.date}}, site)
    except BaseException:
        staged.discard()
        raise
    return staged


def publish(digest: Digest, output: Path, site: SiteConfig | None = None, data: Path | None = None) -> Path:
    """Publish `digest` (stage_day, then commit); returns the path of the day's index.html.

    Raises OSError naming the file that could not be written; the published site is then unchanged.
    """
    staged = stage_day(digest, output, site or SiteConfig(), data)
    staged.commit()
    return staged.page


def render_site(output: Path, site: SiteConfig | None = None) -> list[Digest]:
    """Re-render every day page and paper page, the archive (every year page) and the feed from
    the stored digest.json files; no network and no LLM. Returns the digests, oldest first.

    Raises SiteError (nothing written) when a day's digest.json cannot be read, and OSError naming
    the file that could not be written (the site is then unchanged).
    """
    site = site or SiteConfig()
    remove_partial_files(output)  # the whole site: this reads every day anyway
    digests = load_digests(output, strict=True)
    top, pages = Publication(), Publication()  # the archive and feed staged first, renamed last (_remove_leftovers)
    try:
        with ArchiveIndex(None) as index:  # of the digests just read
            for day in digests:
                index.stage(day, Stamp.of(output / day.date.isoformat() / "digest.json"))
            _write_site(top, output, index, None, site)
        for i, day in enumerate(digests):
            folder = output / day.date.isoformat()
            pages.write(folder / "index.html", render_page(day, *_neighbours(digests, i), site.inline_max))
            for writeup in day.papers:
                pages.write(folder / paper_page(writeup.paper.arxiv_id), render_paper_page(day, writeup))
    except BaseException:
        pages.discard()
        top.discard()
        raise
    pages.commit()
    top.commit()
    return digests


def _remove_leftovers(output: Path) -> None:
    """Delete the temp files and folders that a killed publication or render left in `output`
    (files.remove_partial_files), searching the whole site only when there are some: while any of
    theirs is left, one is at the top of the site (the day's staging folder, written first; the
    archive's and the feed's temp files, renamed last), so a site without one has none. A search of
    every day folder would cost more than the rest of a publication (0.2 s for 3,650 days)."""
    if any(output.glob(f".*{TEMP_SUFFIX}")):
        remove_partial_files(output)


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


def _write_neighbour(staged: Publication, output: Path, date: dt.date, index: ArchiveIndex, site: SiteConfig) -> None:
    """The page of the day `date` again, with its previous/next links as `index` has them now."""
    day = read_day(output / date.isoformat())
    if day is None:
        raise SiteError(f"{output / date.isoformat() / 'digest.json'} is gone")
    staged.write(output / date.isoformat() / "index.html", render_page(day, *index.neighbours(date), site.inline_max))


def _write_site(
    staged: Publication, output: Path, index: ArchiveIndex, changed: set[int] | None, site: SiteConfig
) -> None:
    """The archive's index page and the feeds, from `index`, and the year pages (site.paged): of the
    `changed` years (None: every year), or every one when a year came or went (each links its
    neighbours), and the removal of year pages the archive no longer has. The feeds' entries keep
    the times the published feeds give them (digest.render.feeds)."""
    years = index.years()
    staged.write(output / "index.html", render_archive_index(index.days(limit=LATEST_DAYS), years))
    wanted = set(years) if paged(years) else set()
    published = {int(p.stem) for p in (output / ARCHIVE_FOLDER).glob("*.html") if p.stem.isdigit()}
    for year in sorted(wanted):
        if changed is None or year in changed or published != wanted:
            staged.write(output / year_page(year), render_archive_year(year, index.days(year), sorted(years)))
    for year in published - wanted:
        staged.remove(output / year_page(year))
    base = feed_base(output, site)
    days = render_feed(index.days(limit=FEED_ENTRIES), base, published_entries(output / DAY_FEED.path))
    staged.write(output / DAY_FEED.path, days)
    for feed, chosen in ((PAPER_FEED, False), (FOR_YOU_FEED, True)):
        papers = index.papers(PAPER_FEED_DAYS, PAPER_FEED_ENTRIES, chosen)
        if chosen and not papers:  # no reader profile in the newest days: no "For you" feed
            staged.remove(output / feed.path)
            continue
        staged.write(output / feed.path, render_paper_feed(papers, base, feed, published_entries(output / feed.path)))


def feed_base(output: Path, site: SiteConfig) -> str | None:
    """The public URL the feeds' ids and links are built on: `site.url`, or else the one the
    published feed.xml was built on, so that a run without the setting (a missing or mistyped
    config) does not change every id and make feed readers show every entry as new."""
    if site.url:
        return site.url
    published = output / DAY_FEED.path
    if not published.is_file():
        return None
    feed_id = feedparser.parse(published.read_bytes()).feed.get("id", "")
    if feed_id.startswith(("https://", "http://")):
        log.warning("site.url is not set: the feed keeps the URL it was published with, %s (set site.url)", feed_id)
        return feed_id
    return None
