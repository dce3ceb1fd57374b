"""arXiv: the papers of a day, from the announcement feeds (rss.arxiv.org) or the export API (read by
digest.fetch.arxiv_parse).

`--date D` means the papers arXiv announced on D. The announcement feed only shows the latest
mailing; when its date is not D, the day is backfilled from the export API by submission window,
page after page (or from OAI-PMH by datestamp, `arxiv.backfill: oai`); a listing cut short keeps
what it read and is marked "truncated".
arXiv's mailings are dated Monday to Friday: a Saturday, a Sunday or a configured holiday
(`arxiv.holidays`) is an empty day without any request.
All arXiv requests share one Pacer (arXiv's terms: one request every 3 s, one connection).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from digest.config import ArxivConfig
from digest.fetch.arxiv_parse import ARXIV_TZ, Announcement, ApiPage, parse_api_page, parse_rss
from digest.fetch.oai import list_records_url, parse_list_records
from digest.fetch.result import SourceResult, fetch_source
from digest.fetch.sources import NOT_STORED, Pacer, Source
from digest.fetch.store import RawResponse
from digest.models import Paper, SourceStatus
from digest.words import plural

MAX_OAI_PAGES = 20  # an OAI page holds about 1,000 records: a day of cs fits in a few
API_PAGE_SIZE = 500  # papers asked of the export API per request
MAX_API_PAGES = 10  # whatever totalResults says, a day costs at most 10 requests (30 s at arXiv's pace)


def announces_on(date: dt.date, holidays: list[dt.date]) -> bool:
    """Whether arXiv has a mailing dated `date`: Monday to Friday, except `holidays`."""
    return date.weekday() < 5 and date not in holidays


def today(now: dt.datetime | None = None) -> dt.date:
    """The date in arXiv's time zone (US Eastern, DST included) at `now` (default: the clock)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ARXIV_TZ).date()


def _previous_weekday(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def submission_window(date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The submission period (UTC) announced on `date`.

    arXiv announces at 20:00 ET the papers submitted before the 14:00 ET deadline, and the
    mailing carries the next day's date: the papers of `date` were submitted between 14:00 ET
    two weekdays and one weekday before it. (arXiv holidays are not modelled.)
    """
    end_day = _previous_weekday(date)
    start_day = _previous_weekday(end_day)
    cutoff = dt.time(14, 0, tzinfo=ARXIV_TZ)
    return (
        dt.datetime.combine(start_day, cutoff).astimezone(dt.UTC),
        dt.datetime.combine(end_day, cutoff).astimezone(dt.UTC),
    )


def api_query_url(cfg: ArxivConfig, date: dt.date, start: int = 0, max_results: int = API_PAGE_SIZE) -> str:
    """The export-API URL that lists the papers of `date` in the configured categories, from the
    `start`-th (counted from 0) on."""
    first, last = submission_window(date)
    cats = " OR ".join(f"cat:{c}" for c in cfg.categories)
    query = f"({cats}) AND submittedDate:[{first:%Y%m%d%H%M} TO {last:%Y%m%d%H%M}]"
    params = {
        "search_query": query,
        "start": start,
        "max_results": max_results,
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
    }
    return f"{cfg.api_url}?{urlencode(params)}"


def merge(papers: list[Paper]) -> list[Paper]:
    """Dedupe by arXiv id without version, keeping the first occurrence (announcement order)."""
    seen: dict[str, Paper] = {}
    for paper in papers:
        seen.setdefault(paper.arxiv_id, paper)
    return list(seen.values())


def fetch_papers(
    cfg: ArxivConfig, date: dt.date, source: Source, pacer: Pacer
) -> tuple[list[Paper], list[SourceStatus], bool]:
    """The papers arXiv announced on `date` in the configured categories.

    Returns (papers, one status per source, backfilled). Feeds whose announcement date is not
    `date` are not used; if none matches, the day's submissions are listed from the export API
    (or OAI-PMH).
    """
    if not announces_on(date, cfg.holidays):
        why = "a holiday" if date in cfg.holidays else "a weekend day"
        return (
            [],
            [
                SourceStatus(
                    source="arxiv",
                    url=cfg.rss_url,
                    state="empty",
                    reason=f"{date.isoformat()} is {why}: arXiv has no mailing",
                )
            ],
            False,
        )
    feeds = [_announcement(cfg, category, source, pacer) for category in cfg.categories]
    statuses = [feed.status for feed in feeds]
    today = [feed.items.papers for feed in feeds if feed.items is not None and feed.items.date == date]
    if today:
        return merge([paper for papers in today for paper in papers]), statuses, False
    backfill = (_backfill_oai if cfg.backfill == "oai" else _backfill_api)(cfg, date, source, pacer)
    return merge(backfill.items or []), [*statuses, backfill.status], True


def _announcement(cfg: ArxivConfig, category: str, source: Source, pacer: Pacer) -> SourceResult[Announcement]:
    return fetch_source(
        source,
        f"arxiv-rss-{category}",
        cfg.rss_url.format(category=category),
        lambda resp: parse_rss(resp.body),
        lambda feed: len(feed.papers),
        pacer=pacer,
        explain=lambda resp: _error(resp, "arxiv.rss_url"),
    )


def _backfill_api(cfg: ArxivConfig, date: dt.date, source: Source, pacer: Pacer) -> SourceResult[list[Paper]]:
    """The day's submissions from the export API, page after page (`start` moves on by the papers
    each page listed) until its totalResults are listed, at most MAX_API_PAGES pages.

    A listing cut short keeps what it read and is "truncated", with how many of how many: at the
    page cap, or at a page that failed, came back empty twice or listed only papers already listed
    (a server that ignores `start`). A replayed snapshot that holds fewer pages (one stored before
    the API was paged holds the first only) ends where the snapshot ends.
    """
    result = _api_page(cfg, date, source, pacer, 1, start=0)
    if result.items is None or not result.items.papers:  # failed, or empty when asked twice
        return SourceResult([], result.status, result.response)
    first, listed, total = result.status, list(result.items.papers), result.items.total
    for page in range(2, MAX_API_PAGES + 1):
        if total is None or len(listed) >= total:
            break
        result = _api_page(cfg, date, source, pacer, page, start=len(listed))
        if result.items is None:
            if not source.live and result.status.reason == NOT_STORED:  # the live run stopped here
                return _listed(
                    first,
                    listed,
                    "ok",
                    f"the snapshot holds {len(listed):,} of {plural(total, 'paper')} (no page {page})",
                )
            return _cut_short(first, listed, total, f"page {page} failed ({result.status.reason})")
        stop = _why_stop(result.items.papers, page, listed)
        if stop:
            return _cut_short(first, listed, total, stop)
        listed += result.items.papers
    if total is not None and len(listed) < total:
        return _cut_short(first, listed, total, f"stopped after {MAX_API_PAGES} pages")
    return _listed(first, listed, "ok", None)


def _api_page(
    cfg: ArxivConfig, date: dt.date, source: Source, pacer: Pacer, page: int, start: int
) -> SourceResult[ApiPage]:
    """Page `page` (from 1) of the day's export-API listing, stored as "arxiv-api" for the first
    (the name snapshots stored before paging use) and "arxiv-api-<page>" after it."""
    name = "arxiv-api" if page == 1 else f"arxiv-api-{page}"

    def ask() -> SourceResult[ApiPage]:
        return fetch_source(
            source,
            name,
            api_query_url(cfg, date, start),
            lambda resp: parse_api_page(resp.body),
            lambda listing: len(listing.papers),
            label="arxiv-api",
            pacer=pacer,
            explain=lambda resp: _error(resp, "arxiv.api_url"),
        )

    result = ask()
    if result.status.state == "empty" and source.live:
        # The API lags the announcements and sometimes answers an empty page for a full day:
        # one more try (after the pacer's 3 s) before calling the page empty.
        result = ask()
    if result.status.state != "empty":
        return result
    reason = "the export API listed no papers twice (it may lag the announcements; a later rebuild can fill the day)"
    return SourceResult(result.items, result.status.model_copy(update={"reason": reason}), name)


def _why_stop(papers: list[Paper], page: int, listed: list[Paper]) -> str | None:
    """Why the papers of a later page end the listing short, or None to go on."""
    if not papers:
        return f"page {page} was empty twice"
    if {p.arxiv_id for p in papers} <= {p.arxiv_id for p in listed}:
        return f"page {page} listed only papers already listed"
    return None


def _listed(first: SourceStatus, papers: list[Paper], state: str, reason: str | None) -> SourceResult[list[Paper]]:
    """The whole listing's result, under the first page's name and URL."""
    return SourceResult(
        papers, first.model_copy(update={"state": state, "items": len(papers), "reason": reason}), "arxiv-api"
    )


def _cut_short(first: SourceStatus, papers: list[Paper], total: int, why: str) -> SourceResult[list[Paper]]:
    return _listed(first, papers, "truncated", f"listed {len(papers):,} of {plural(total, 'paper')}: {why}")


def _backfill_oai(cfg: ArxivConfig, date: dt.date, source: Source, pacer: Pacer) -> SourceResult[list[Paper]]:
    """The configured categories' records of `date` from OAI-PMH, page after page (at most
    MAX_OAI_PAGES; a listing still going on there is "truncated"), and one status for them all.
    A page that fails keeps the papers of the pages before it, and the status is "failed"."""
    papers: list[Paper] = []
    url = first = list_records_url(cfg.oai_url, cfg.oai_set, date)
    for page in range(MAX_OAI_PAGES):
        result = fetch_source(
            source,
            f"arxiv-oai-{page}",
            url,
            lambda resp: parse_list_records(resp.body),
            lambda listing: len(listing.papers),
            label="arxiv-oai",
            pacer=pacer,
            explain=lambda resp: _error(resp, "arxiv.oai_url"),
        )
        if result.items is None:  # failed
            return SourceResult(papers, result.status, "arxiv-oai-0")
        papers += [p for p in result.items.papers if set(p.categories) & set(cfg.categories)]
        if result.items.token is None:
            status = SourceStatus(source="arxiv-oai", url=first, state="ok" if papers else "empty", items=len(papers))
            return SourceResult(papers, status, "arxiv-oai-0")
        url = list_records_url(cfg.oai_url, cfg.oai_set, date, result.items.token)
    return SourceResult(
        papers,
        SourceStatus(
            source="arxiv-oai",
            url=first,
            state="truncated",
            items=len(papers),
            reason=f"listed {plural(len(papers), 'paper')}: stopped after "
            f"{MAX_OAI_PAGES} pages, with more records left",
        ),
        "arxiv-oai-0",
    )


def _error(resp: RawResponse, setting: str) -> str | None:
    """Why `resp` failed, for an arXiv service whose URL is the config's `setting`: a 410 from arXiv
    means the service moved or was retired, so the setting needs arXiv's current URL (a news feed's
    410 means the feed itself is gone, and the advice differs)."""
    if resp.status == 410:
        return f"HTTP 410 Gone: arXiv no longer serves this URL; check {setting} against arXiv's current address"
    return resp.error
