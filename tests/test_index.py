"""The archive index (digest.render.index): built from the digest.json files, kept in step with days
added, changed or removed by hand, rebuilt when damaged; the archive paged by year; "covered
earlier" and the feed read from it."""

import datetime as dt
import os
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

import pytest
from conftest import DEMO_DATE, Page, build_args
from days import PAPERS, small_day
from stall import kill_at_write

from digest.cli import main
from digest.config import PapersConfig, SiteConfig
from digest.models import Digest, Section
from digest.render.feeds import FEED_ENTRIES
from digest.render.index import INDEX_FILE, ArchiveIndex, index_path, writeups_before
from digest.render.publish import publish, render_site, stage_day
from digest.render.site import LATEST_DAYS, ArchiveDay, digest_json, load_digests, render_archive, year_page
from digest.select.papers import abstract_hash, earlier_writeups, select_papers

DAY = dt.date.fromisoformat(DEMO_DATE)
FAR = dt.date(2100, 1, 1)  # a `before` later than every day


def _hand_written(site: Path, digest: Digest) -> Path:
    """Put `digest` in the site as an operator would copy a day in: its digest.json only."""
    path = site / digest.date.isoformat() / "digest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(digest_json(digest))
    return path


def _index(site: Path, data: Path) -> tuple[ArchiveIndex, set[dt.date]]:
    index = ArchiveIndex(index_path(data))
    return index, index.sync(site)


def _assert_index_is_the_site(site: Path, data: Path) -> None:
    """What the index keeps of each day equals what load_digests reads from the digest.json files."""
    digests = load_digests(site)
    with ArchiveIndex(index_path(data)) as index:
        assert index.sync(site) == set()  # already in step
        assert index.days() == [ArchiveDay.of(d) for d in reversed(digests)]
        ids = [w.paper.arxiv_id for d in digests for w in d.papers]
        assert index.earlier_writeups(ids, FAR) == earlier_writeups(digests, FAR)
        assert index.years() == Counter(d.date.year for d in digests)


def test_the_index_of_a_built_site_holds_what_the_digest_json_files_say(fake_llm, tmp_path):
    site, data = tmp_path / "site", tmp_path / "data"
    assert main(build_args(output=site, data=data)) == 0  # the demo day, written up by the fake model
    [today] = load_digests(site)
    quiet = today.model_copy(
        update={"date": dt.date(2026, 4, 25), "overview": Section(status="unavailable", error="x"), "topics": []}
    )
    publish(today.model_copy(update={"date": dt.date(2025, 12, 31), "papers": today.papers[:2]}), site, data=data)
    publish(quiet, site, data=data)  # a day without an overview or topics
    assert (data / INDEX_FILE).is_file() and not list(site.rglob("*.sqlite*"))  # the site holds only the site
    _assert_index_is_the_site(site, data)  # recorded as each day was published
    with ArchiveIndex(index_path(data)) as index:
        days = {d.date: d for d in index.days()}
    assert days[quiet.date].no_mailing is None and days[quiet.date].summary == "10 papers, 0 news articles, 0 topics."
    assert today.overview.content is not None
    assert days[DAY].summary == today.overview.content.markdown and days[DAY].paper_titles == tuple(
        w.paper.title for w in today.papers[:3]
    )
    (data / INDEX_FILE).unlink()
    with ArchiveIndex(index_path(data)) as index:
        assert index.sync(site) == {dt.date(2025, 12, 31), quiet.date, DAY}  # built whole from the site
    _assert_index_is_the_site(site, data)


def test_days_added_changed_or_removed_by_hand_are_read_again(tmp_path, caplog):
    site, data = tmp_path / "site", tmp_path / "data"
    for n in range(4):
        publish(small_day(dt.date(2026, 4, 20 + n)), site, data=data)
    shutil.rmtree(site / "2026-04-21")  # removed by hand
    copied = _hand_written(site, small_day(dt.date(2026, 5, 4), papers=5))  # copied in by hand
    changed = _hand_written(site, small_day(dt.date(2026, 4, 22), papers=1, topics=0))  # edited by hand
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))  # an older time: only "different" counts
    (site / "2026-04-23" / "digest.json").write_text("{not json")  # broken by hand
    index, found = _index(site, data)
    assert found == {dt.date(2026, 4, d) for d in (21, 22, 23)} | {dt.date(2026, 5, 4)}
    assert [d.date.isoformat() for d in index.days()] == ["2026-05-04", "2026-04-22", "2026-04-20"]
    assert index.days()[1].papers == 1 and index.days()[0].papers == 5
    assert "2026-04-23/digest.json is unreadable" in caplog.text and "left out of the archive" in caplog.text
    covered = index.earlier_writeups([p.arxiv_id for p in PAPERS], FAR)
    assert covered[PAPERS[4].arxiv_id][0] == covered[PAPERS[1].arxiv_id][0] == dt.date(2026, 5, 4)
    assert index.earlier_writeups([PAPERS[1].arxiv_id], dt.date(2026, 5, 4)) == {
        PAPERS[1].arxiv_id: (dt.date(2026, 4, 20), abstract_hash(PAPERS[1]))  # 04-21 is gone, 04-22 has one paper
    }
    index.close()
    _hand_written(site, small_day(dt.date(2026, 4, 23)))  # mended
    index, found = _index(site, data)
    assert found == {dt.date(2026, 4, 23)} and copied.is_file()
    index.close()
    _assert_index_is_the_site(site, data)


@pytest.mark.parametrize("damage", ["not a database", "newer schema"])
def test_a_damaged_index_is_set_aside_and_rebuilt(tmp_path, caplog, damage):
    site, data = tmp_path / "site", tmp_path / "data"
    for n in range(3):
        publish(small_day(dt.date(2026, 4, 20 + n)), site, data=data)
    path = data / INDEX_FILE
    if damage == "not a database":
        path.write_bytes(b"this is not a database" * 100)
    else:
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 99")  # written by a later digest
        db.close()
    index, found = _index(site, data)
    assert found == {dt.date(2026, 4, 20 + n) for n in range(3)}
    assert len(list(data.glob(f"{INDEX_FILE}.corrupt-*"))) == 1 and "set aside" in caplog.text
    index.close()
    _assert_index_is_the_site(site, data)


def test_a_publication_reads_no_other_day_than_its_neighbours_and_a_discarded_one_leaves_the_index(tmp_path):
    site, data = tmp_path / "site", tmp_path / "data"
    for n in range(4):
        publish(small_day(dt.date(2026, 4, 20 + n)), site, data=data)
    far = site / "2026-04-20" / "digest.json"  # no neighbour of 04-23: a publication must not read it
    stat = far.stat()
    far.write_bytes(b"x" * stat.st_size)
    os.utime(far, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as the index recorded it
    publish(small_day(dt.date(2026, 4, 23), papers=2), site, data=data)
    assert "day-2026-04-20" in Page((site / "index.html").read_text()).ids  # from the index
    staged = stage_day(small_day(dt.date(2026, 4, 24)), site, data=data)
    staged.discard()
    with ArchiveIndex(index_path(data)) as index:
        assert index.sync(site) == set() and [d.date.day for d in index.days()] == [23, 22, 21, 20]
        assert index.days()[0].papers == 2


def _fsyncs(monkeypatch, run) -> int:
    """How many fsync'd writes `run()` makes."""
    count = [0]
    real = os.fsync
    monkeypatch.setattr("digest.files.os.fsync", lambda fd: (count.__setitem__(0, count[0] + 1), real(fd))[1])
    run()
    monkeypatch.setattr("digest.files.os.fsync", real)
    return count[0]


def test_the_next_publication_removes_what_a_killed_render_left(tmp_path, monkeypatch):
    site, data = tmp_path / "site", tmp_path / "data"
    for n in range(3):
        publish(small_day(dt.date(2026, 4, 20 + n)), site, data=data)
    writes = _fsyncs(monkeypatch, lambda: render_site(site))
    assert writes == 3 + 3 * 4  # the archive and the two feeds first, then each day's page and 3 paper pages
    for nth in (1, 2, writes // 2, writes):
        kill_at_write(["render", "--date", "2026-04-21", "--output", str(site)], nth, tmp_path / "writing")
        assert list(site.rglob(".*.partial")), nth  # a render's temp files are left behind
        publish(small_day(dt.date(2026, 4, 23)), site, data=data)  # a publication searches every day only then
        assert not list(site.rglob("*.partial")), nth


def _links_resolve(site: Path, page: Path) -> list[str]:
    """The relative links of `page`, each checked to name a file of the site (an anchor an id of it)."""
    html = Page(page.read_text())
    links = [h for h in html.hrefs if not h.startswith(("http://", "https://"))]
    for href in links:
        path, _, anchor = urljoin(page.relative_to(site).as_posix(), href).partition("#")
        target = site / (path or page.relative_to(site).as_posix())
        assert target.is_file(), (page, href)
        assert not anchor or anchor in Page(target.read_text()).ids, (page, href)
    return links


def test_a_large_archive_has_a_page_per_year_and_the_latest_days_first(tmp_path):
    site, data = tmp_path / "site", tmp_path / "data"
    dates = [dt.date(2024, 12, 31), dt.date(2025, 1, 1)]
    dates += [dt.date(2025, 11, 3) + dt.timedelta(days=3 * n + n % 2) for n in range(2 * LATEST_DAYS)]  # into 2026
    for date in dates[:-1]:
        _hand_written(site, small_day(date))
    render_site(site)  # every page, as `digest render` writes them
    publish(small_day(dates[-1]), site, data=data)  # the newest day, through the index
    years = {y: sum(d.year == y for d in dates) for y in (2024, 2025, 2026)}
    index_page = site / "index.html"
    html = Page(index_page.read_text())
    newest_first = sorted(dates, reverse=True)
    assert [i for i in html.ids if i.startswith("day-")] == [f"day-{d}" for d in newest_first[:LATEST_DAYS]]
    assert f"By year: 2026 ({years[2026]} days) · 2025 ({years[2025]} days) · 2024 (1 day)" in html.plain
    assert sorted(h for h in _links_resolve(site, index_page) if "archive/" in h) == [year_page(y) for y in years]
    for year, count in years.items():
        page = site / year_page(year)
        listed = [i for i in Page(page.read_text()).ids if i.startswith("day-")]
        assert listed == [f"day-{d}" for d in newest_first if d.year == year]
        assert f"{count} day" in Page(page.read_text()).plain and len(listed) == count
        links = _links_resolve(site, page)
        assert ("../archive/2025.html" in links) == (year != 2025)  # the neighbouring years link it
    assert {p.name for p in (site / "archive").iterdir()} == {"2024.html", "2025.html", "2026.html"}
    feed = (site / "feed.xml").read_text()
    assert (
        feed.count("<entry>") == FEED_ENTRIES and str(dates[-1]) in feed and str(dates[-FEED_ENTRIES - 1]) not in feed
    )

    inodes = {y: (site / year_page(y)).stat().st_ino for y in years}
    publish(small_day(dates[-1], papers=1), site, data=data)  # a rebuild of the newest day: only its year changes
    assert {y: (site / year_page(y)).stat().st_ino == inodes[y] for y in years} == {2024: True, 2025: True, 2026: False}
    shutil.rmtree(site / dates[0].isoformat())  # 2024's one day, removed by hand
    publish(small_day(dates[-1]), site, data=data)
    assert not (site / year_page(2024)).exists() and year_page(2024) not in Page(index_page.read_text()).hrefs
    assert "../archive/2024.html" not in Page((site / year_page(2025)).read_text()).hrefs
    for date in dates[1:-LATEST_DAYS]:  # down to the LATEST_DAYS the index page lists: no year pages
        shutil.rmtree(site / date.isoformat())
    publish(small_day(dates[-1]), site, data=data)
    assert not list((site / "archive").glob("*.html"))
    assert "By year" not in Page(index_page.read_text()).plain
    assert len(_links_resolve(site, index_page)) == LATEST_DAYS + 2  # the two feeds and every day


def test_covered_earlier_reads_the_index(tmp_path):
    site, data = tmp_path / "site", tmp_path / "data"
    publish(small_day(DAY - dt.timedelta(days=3), papers=4), site, data=data)
    publish(small_day(DAY - dt.timedelta(days=1), papers=2), site, data=data)
    publish(small_day(DAY + dt.timedelta(days=1), papers=6), site, data=data)  # a later day does not count
    changed = PAPERS[1].model_copy(update={"summary": PAPERS[1].summary + " We release the code.", "version": 2})
    today = [PAPERS[0], changed, PAPERS[2], PAPERS[4], PAPERS[5]]
    earlier = writeups_before(site, data, today, DAY)
    assert earlier == {
        PAPERS[0].arxiv_id: (DAY - dt.timedelta(days=1), abstract_hash(PAPERS[0])),
        PAPERS[1].arxiv_id: (DAY - dt.timedelta(days=1), abstract_hash(PAPERS[1])),
        PAPERS[2].arxiv_id: (DAY - dt.timedelta(days=3), abstract_hash(PAPERS[2])),
    }
    assert earlier == {k: v for k, v in earlier_writeups(load_digests(site), DAY).items() if k in earlier}
    chosen = select_papers(today, PapersConfig(), earlier)
    assert [(c.paper.arxiv_id, c.date) for c in chosen.covered] == [
        (PAPERS[0].arxiv_id, DAY - dt.timedelta(days=1)),
        (PAPERS[2].arxiv_id, DAY - dt.timedelta(days=3)),
    ]
    assert [p.arxiv_id for p in chosen.candidates] == [PAPERS[1].arxiv_id, PAPERS[4].arxiv_id, PAPERS[5].arxiv_id]
    shutil.rmtree(site / (DAY - dt.timedelta(days=1)).isoformat())  # removed by hand: 04-27 is the latest now
    assert writeups_before(site, data, today[:1], DAY) == {
        PAPERS[0].arxiv_id: (DAY - dt.timedelta(days=3), abstract_hash(PAPERS[0]))
    }


# feed.xml of the three days of test_the_feed_of_a_small_site_is_unchanged, as the digest writes it
# from every digest.json (render_site): the index must give the same bytes.
FEED_OF_A_SMALL_SITE = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>https://digest.example/</id>
  <title>PaperBot Daily Digest</title>
  <updated>2026-04-30T06:30:00+00:00</updated>
  <author>
    <name>PaperBot Daily Digest</name>
    <uri>https://digest.example/</uri>
  </author>
  <link href="https://digest.example/feed.xml" rel="self" type="application/atom+xml"/>
  <link href="https://digest.example/" rel="alternate" type="text/html"/>
  <generator uri="https://lkiesow.github.io/python-feedgen" version="1.0.0">python-feedgen</generator>
  <subtitle>New arXiv papers and AI news, every day</subtitle>
  <entry>
    <id>https://digest.example/2026-04-30/</id>
    <title>PaperBot Daily Digest — 2026-04-30</title>
    <updated>2026-04-30T06:30:00+00:00</updated>
    <link href="https://digest.example/2026-04-30/"/>
    <summary>On 2026-04-30 research &amp; news [1].

Then the topics [2].</summary>
    <published>2026-04-30T06:30:00+00:00</published>
  </entry>
  <entry>
    <id>https://digest.example/2026-04-29/</id>
    <title>PaperBot Daily Digest — 2026-04-29</title>
    <updated>2026-04-29T06:30:00+00:00</updated>
    <link href="https://digest.example/2026-04-29/"/>
    <summary>2 papers, 2 news articles, 1 topic.</summary>
    <published>2026-04-29T06:30:00+00:00</published>
  </entry>
  <entry>
    <id>https://digest.example/2026-04-28/</id>
    <title>PaperBot Daily Digest — 2026-04-28</title>
    <updated>2026-04-28T06:30:00+00:00</updated>
    <link href="https://digest.example/2026-04-28/"/>
    <summary>On 2026-04-28 research &amp; news [1].

Then the topics [2].</summary>
    <published>2026-04-28T06:30:00+00:00</published>
  </entry>
</feed>
"""


def test_the_feed_of_a_small_site_is_unchanged(tmp_path):
    site, data = tmp_path / "site", tmp_path / "data"
    days = [
        small_day(dt.date(2026, 4, 28)),
        small_day(dt.date(2026, 4, 29), papers=2, overview=False),
        small_day(DAY, topics=2),
    ]
    for digest in days:
        publish(digest, site, SiteConfig(url="https://digest.example/"), data)
    assert (site / "feed.xml").read_text() == FEED_OF_A_SMALL_SITE
    assert (site / "index.html").read_text() == render_archive(load_digests(site))  # the index page agrees too
    render_site(site)  # `digest render`: from every digest.json, the feed's URL kept
    assert (site / "feed.xml").read_text() == FEED_OF_A_SMALL_SITE


def test_an_index_of_the_previous_schema_reads_every_day_again_for_papers_xml(tmp_path):
    site, data = tmp_path / "site", tmp_path / "data"
    for n in range(3):
        publish(small_day(dt.date(2026, 4, 20 + n)), site, data=data)
    db = sqlite3.connect(index_path(data))
    db.executescript("DROP TABLE papers; PRAGMA user_version = 4;")  # as the index was before papers.xml
    db.execute("INSERT INTO writeups VALUES ('2604.00001', '2026-04-01', 'h')")  # of a day removed by hand since
    db.commit()
    db.close()
    with ArchiveIndex(index_path(data)) as index:
        assert index.sync(site) == {dt.date(2026, 4, 20 + n) for n in range(3)}  # every day read again
        assert [(e.date.day, e.arxiv_id) for e in index.papers(7, 100)] == [
            (20 + n, p.arxiv_id) for n in (2, 1, 0) for p in PAPERS[:3]
        ]
        assert index.earlier_writeups(["2604.00001"], FAR) == {}
    _assert_index_is_the_site(site, data)
