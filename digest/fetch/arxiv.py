"""arXiv: announcement feeds (rss.arxiv.org, RSS 2.0 with arxiv:announce_type) and the export API.

`--date D` means the papers arXiv announced on D. The announcement feed only shows the latest
mailing; when its date is not D, the day is backfilled from the export API by submission window
(or from OAI-PMH by datestamp, `arxiv.backfill: oai`).
arXiv's mailings are dated Monday to Friday: a Saturday, a Sunday or a configured holiday
(`arxiv.holidays`) is an empty day without any request.
All arXiv requests share one Pacer (arXiv's terms: one request every 3 s, one connection).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import feedparser

from digest.config import ArxivConfig
from digest.fetch.oai import OaiError, list_records_url, parse_list_records
from digest.fetch.sources import Pacer, Source, paced_get
from digest.fetch.store import RawResponse
from digest.fetch.text import aimed_at_ai, clean_text
from digest.models import Paper, SourceStatus, arxiv_links

ARXIV_TZ = ZoneInfo("America/New_York")
# "arXiv:2604.21935v1 Announce Type: new \nAbstract: ..." (rss.arxiv.org item description)
_RSS_DESCRIPTION = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.S)
_ID_VERSION = re.compile(r"(?:arxiv\.org/abs/|oai:arXiv\.org:|^)([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v(\d+))?$")


MAX_OAI_PAGES = 20  # an OAI page holds about 1,000 records: a day of cs fits in a few


class ArxivError(Exception):
    """An arXiv response that is not a usable feed (error entry, HTML page, parse failure)."""


def split_id(raw: str) -> tuple[str, int]:
    """'https://arxiv.org/abs/2604.21935v2' -> ('2604.21935', 2); old-style ids keep their slash.

    Raises ArxivError when `raw` holds no arXiv id.
    """
    m = _ID_VERSION.search(raw.strip())
    if not m:
        raise ArxivError(f"no arXiv id in {raw!r}")
    return m.group(1), int(m.group(2) or 1)


def _when(struct) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.timezone.utc) if struct else None


def _parse(body: bytes, what: str) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    if not parsed.get("version"):
        raise ArxivError(f"{what}: not a feed ({parsed.get('bozo_exception') or 'unknown format'})")
    return parsed


def parse_rss(body: bytes) -> tuple[dt.date | None, list[Paper]]:
    """Parse one rss.arxiv.org category feed.

    Returns (announcement date in arXiv's time zone or None, papers). Raises ArxivError when the
    body is not a feed (an empty body or an HTML page is a failure, never an empty day).
    """
    parsed = _parse(body, "arXiv announcement feed")
    when = _when(parsed.feed.get("published_parsed"))
    announced = when.astimezone(ARXIV_TZ).date() if when else None
    papers = []
    for entry in parsed.entries:
        arxiv_id, version = split_id(entry.get("id") or entry.get("link", ""))
        tags = [t["term"] for t in entry.get("tags", []) if t.get("term")]
        papers.append(Paper(
            arxiv_id=arxiv_id,
            version=version,
            title=clean_text(entry.get("title", "")),
            authors=[a.strip() for a in entry.get("author", "").split(",") if a.strip()],
            summary=clean_text(_RSS_DESCRIPTION.sub("", entry.get("summary", ""))),
            categories=tags,
            primary_category=tags[0] if tags else "",
            announce_type=entry.get("arxiv_announce_type", "new").strip(),
            published=_when(entry.get("published_parsed")),
            instructions_for_ai=aimed_at_ai(entry.get("title", "") + " " + entry.get("summary", "")),
            **arxiv_links(arxiv_id),
        ))
    return announced, papers


def parse_api(body: bytes) -> list[Paper]:
    """Parse an export-API Atom response into papers.

    Raises ArxivError for the API's error feed (one entry titled "Error" whose id contains
    /api/errors#) and for bodies that are not a feed.
    """
    parsed = _parse(body, "arXiv API response")
    papers = []
    for entry in parsed.entries:
        if entry.get("title") == "Error" and "/api/errors" in entry.get("id", ""):
            raise ArxivError(f"arXiv API error: {clean_text(entry.get('summary', ''))}")
        arxiv_id, version = split_id(entry.get("id", ""))
        primary = (entry.get("arxiv_primary_category") or {}).get("term", "")
        papers.append(Paper(
            arxiv_id=arxiv_id,
            version=version,
            title=clean_text(entry.get("title", "")),
            authors=[a["name"] for a in entry.get("authors", []) if a.get("name")],
            summary=clean_text(entry.get("summary", "")),
            categories=[t["term"] for t in entry.get("tags", []) if t.get("term")],
            primary_category=primary,
            announce_type="new" if version == 1 else "replace",
            published=_when(entry.get("published_parsed")),
            updated=_when(entry.get("updated_parsed")),
            comment=entry.get("arxiv_comment"),
            journal_ref=entry.get("arxiv_journal_ref"),
            doi=entry.get("arxiv_doi"),
            instructions_for_ai=aimed_at_ai(entry.get("title", "") + " " + entry.get("summary", "")),
            **arxiv_links(arxiv_id),
        ))
    return papers


def announces_on(date: dt.date, holidays: list[dt.date]) -> bool:
    """Whether arXiv has a mailing dated `date`: Monday to Friday, except `holidays`."""
    return date.weekday() < 5 and date not in holidays


def today(now: dt.datetime | None = None) -> dt.date:
    """The date in arXiv's time zone (US Eastern, DST included) at `now` (default: the clock)."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(ARXIV_TZ).date()


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
        dt.datetime.combine(start_day, cutoff).astimezone(dt.timezone.utc),
        dt.datetime.combine(end_day, cutoff).astimezone(dt.timezone.utc),
    )


def api_query_url(cfg: ArxivConfig, date: dt.date, max_results: int = 500) -> str:
    """The export-API URL that lists the papers of `date` in the configured categories."""
    start, end = submission_window(date)
    cats = " OR ".join(f"cat:{c}" for c in cfg.categories)
    query = f"({cats}) AND submittedDate:[{start:%Y%m%d%H%M} TO {end:%Y%m%d%H%M}]"
    params = {"search_query": query, "start": 0, "max_results": max_results,
              "sortBy": "submittedDate", "sortOrder": "ascending"}
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

    Returns (papers, one status per request, backfilled). Feeds whose announcement date is not
    `date` are not used; if none matches, the export API is asked for the day's submissions.
    """
    if not announces_on(date, cfg.holidays):
        why = "a holiday" if date in cfg.holidays else "a weekend day"
        return [], [SourceStatus(source="arxiv", url=cfg.rss_url, state="empty",
                                 reason=f"{date.isoformat()} is {why}: arXiv has no mailing")], False
    papers: list[Paper] = []
    statuses: list[SourceStatus] = []
    matched = False
    for category in cfg.categories:
        name, url = f"arxiv-rss-{category}", cfg.rss_url.format(category=category)
        status, announced, items = _fetch_one(source, pacer, name, url, parse_rss, "arxiv.rss_url")
        statuses.append(status)
        if announced == date:
            matched = True
            papers.extend(items)
    if matched:
        return merge(papers), statuses, False
    if cfg.backfill == "oai":
        items, status = _backfill_oai(cfg, date, source, pacer)
        return merge(items), [*statuses, status], True
    url = api_query_url(cfg, date)
    status, _, items = _fetch_one(source, pacer, "arxiv-api", url, lambda b: (None, parse_api(b)), "arxiv.api_url")
    if status.state == "empty" and source.live:
        # The API lags the announcements and sometimes answers an empty page for a full day:
        # one more try (after the pacer's 3 s) before calling the day empty.
        status, _, items = _fetch_one(source, pacer, "arxiv-api", url, lambda b: (None, parse_api(b)), "arxiv.api_url")
        if status.state == "empty":
            status = status.model_copy(update={"reason": "the export API listed no papers twice (it may lag the "
                                                         "announcements; a later rebuild can fill the day)"})
    statuses.append(status)
    return merge(items), statuses, True


def _backfill_oai(cfg: ArxivConfig, date: dt.date, source: Source, pacer: Pacer) -> tuple[list[Paper], SourceStatus]:
    """The configured categories' records of `date` from OAI-PMH, page after page (at most
    MAX_OAI_PAGES), and one status for them all."""
    papers: list[Paper] = []
    url = first = list_records_url(cfg.oai_url, cfg.oai_set, date)
    for page in range(MAX_OAI_PAGES):
        resp = paced_get(source, pacer, f"arxiv-oai-{page}", url)
        try:
            if resp.error:
                raise OaiError(_error(resp, "arxiv.oai_url"))
            found, token = parse_list_records(resp.body)
        except OaiError as exc:
            return papers, SourceStatus(source="arxiv-oai", url=url, state="failed", reason=str(exc))
        papers += [p for p in found if set(p.categories) & set(cfg.categories)]
        if token is None:
            break
        url = list_records_url(cfg.oai_url, cfg.oai_set, date, token)
    return papers, SourceStatus(source="arxiv-oai", url=first, state="ok" if papers else "empty", items=len(papers))


def _error(resp: RawResponse, setting: str) -> str | None:
    """Why `resp` failed, for an arXiv service whose URL is the config's `setting`: a 410 from arXiv
    means the service moved or was retired, so the setting needs arXiv's current URL (a news feed's
    410 means the feed itself is gone, and the advice differs)."""
    if resp.status == 410:
        return f"HTTP 410 Gone: arXiv no longer serves this URL; check {setting} against arXiv's current address"
    return resp.error


def _fetch_one(source: Source, pacer: Pacer, name: str, url: str, parse, setting: str):
    resp = paced_get(source, pacer, name, url)
    if resp.error:
        return SourceStatus(source=name, url=url, state="failed", reason=_error(resp, setting)), None, []
    try:
        announced, items = parse(resp.body)
    except ArxivError as exc:
        return SourceStatus(source=name, url=url, state="failed", reason=str(exc)), None, []
    state = "ok" if items else "empty"
    return SourceStatus(source=name, url=url, state=state, items=len(items)), announced, items
