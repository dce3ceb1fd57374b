"""Clock, time zone and calendar (fault catalogue O9): which date a run means, DST, weekends,
holidays and leap days — with injected clocks, no waiting."""

import datetime as dt

import pytest
from conftest import DEMO_CONFIG, DEMO_SNAPSHOT, build_args

from digest.cli import main
from digest.config import ArxivConfig, load_config
from digest.fetch.arxiv import fetch_papers, submission_window, today
from digest.fetch.sources import Pacer
from digest.fetch.store import SnapshotStore

UTC = dt.UTC


@pytest.mark.parametrize(
    ("now", "date"),
    [
        ("2026-11-20T04:30:00", "2026-11-19"),  # 23:30 EST: still the previous day in New York
        ("2026-11-20T05:30:00", "2026-11-20"),  # 00:30 EST
        ("2026-07-20T03:30:00", "2026-07-19"),  # 23:30 EDT (summer: UTC-4)
        ("2026-07-20T04:30:00", "2026-07-20"),  # 00:30 EDT
        ("2026-03-08T06:59:00", "2026-03-08"),  # the spring DST switch (02:00 EST -> 03:00 EDT)
        ("2026-11-01T05:30:00", "2026-11-01"),  # the autumn DST switch
        ("2028-02-29T05:00:00", "2028-02-29"),  # leap day, 00:00 EST
    ],
)
def test_the_default_date_is_the_date_in_new_york(now, date):
    assert today(dt.datetime.fromisoformat(now).replace(tzinfo=UTC)) == dt.date.fromisoformat(date)


def test_submission_windows_follow_daylight_saving_time():
    # Tuesday 2026-03-10: submitted Friday 6 March 14:00 EST to Monday 9 March 14:00 EDT.
    start, end = submission_window(dt.date(2026, 3, 10))
    assert (start, end) == (dt.datetime(2026, 3, 6, 19, tzinfo=UTC), dt.datetime(2026, 3, 9, 18, tzinfo=UTC))
    # Monday 2028-02-28 .. Wednesday 2028-03-01 across the leap day.
    assert submission_window(dt.date(2028, 3, 1))[0] == dt.datetime(2028, 2, 28, 19, tzinfo=UTC)


class _NoNetwork:
    live = True

    def get(self, name, url, check=None):
        raise AssertionError(f"requested {url}")


@pytest.mark.parametrize("day", [dt.date(2026, 11, 21), dt.date(2026, 11, 22), dt.date(2026, 11, 26)])
def test_weekends_and_holidays_are_empty_days_without_requests(day):
    papers, [status], backfilled = fetch_papers(
        ArxivConfig(holidays=[dt.date(2026, 11, 26)]), day, _NoNetwork(), Pacer(0)
    )
    assert papers == [] and status.state == "empty" and not backfilled
    assert ("holiday" if day.weekday() < 5 else "weekend day") in status.reason


def test_a_saturday_build_is_an_empty_day_page_with_exit_0(fake_llm, tmp_path):
    snap = tmp_path / "snap"
    saturday = "2026-05-02"
    store = SnapshotStore(snap, dt.date.fromisoformat(saturday))
    demo = SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30))
    for feed in load_config(DEMO_CONFIG).news.feeds:  # the news of the day; no arXiv response at all
        store.save(demo.load(f"feed-{feed.name}"))
    assert main(build_args(output=tmp_path / "site", snapshot=snap, date=saturday)) == 0
    page = (tmp_path / "site" / saturday / "index.html").read_text()
    assert "No arXiv mailing today (Saturday)." in page and "No new arXiv announcements" not in page
    assert fake_llm.requests and not any("<paper>" in r["messages"][-1]["content"] for r in fake_llm.requests)
