"""The run report: what a build fetched (a log line), every problem of a built day, one line each,
and the run record (run.json) the operator reads after a build."""

from __future__ import annotations

import datetime as dt
import json
import logging

from digest.fetch.ledger import FLAG_AFTER_FAILURES
from digest.models import Digest, RunReport, Snapshot
from digest.select.papers import Selection
from digest.words import plural

log = logging.getLogger(__name__)


def failures(digest: Digest) -> list[str]:
    """Every source that failed (stale copies included) and every section that is not ok, one line
    each; a source failing FLAG_AFTER_FAILURES runs in a row says so."""
    out = [
        f"source {s.source}: {s.reason}"
        + (f" ({s.failures} failures in a row: check the feed)" if s.failures >= FLAG_AFTER_FAILURES else "")
        for s in digest.sources
        if s.failed or s.state == "truncated"
    ]
    for w in digest.papers:
        for name, section in w.sections().items():
            if section.status != "ok" or section.kept_from:
                out.append(f"paper {w.paper.arxiv_id} {name} {section.status}: {section.error}")
    out += [
        f"topic {t.title!r} commentary: {t.commentary.error}"
        for t in digest.topics
        if t.commentary.status != "ok" or t.commentary.kept_from
    ]
    if digest.topic_plan_status != "ok":
        out.append("topic names: unavailable, the topics are titled by their keywords")
    if digest.overview.status != "ok" or digest.overview.kept_from:
        out.append(f"overview: {digest.overview.error}")
    if digest.ranking_error:
        out.append(f"ranking: {digest.ranking_error}")
    if digest.embedding_error:
        out.append(f"embeddings: {digest.embedding_error}")
    if digest.listed_error:
        out.append(f"all papers today: {digest.listed_error}")
    return out


def run_report(
    date: dt.date,
    started: dt.datetime,
    page: str | None,
    snapshot: Snapshot,
    digest: Digest,
    problems: list[str],
    status: int,
) -> RunReport:
    """The run record of one build of `date` (run.json): when it ran, the page it published (None:
    none), each source's state, the LLM usage, the problems (failures) and the exit status."""
    return RunReport(
        date=date,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        page=page,
        sources=snapshot.sources,
        usage=digest.usage,
        failures=problems,
        exit_status=status,
    )


def report_json(report: RunReport) -> str:
    """`report` as run.json holds it: indented JSON."""
    return json.dumps(report.model_dump(mode="json"), indent=2)


def log_fetched(snapshot: Snapshot, selection: Selection) -> None:
    """One log line of what the day fetched and what of it the select stage kept."""
    failed = sum(s.failed for s in snapshot.sources)
    log.info(
        "fetched %s%s and %s from %s (%d failed); %s, %d updated, %d covered earlier, %d filtered out",
        plural(len(snapshot.papers), "paper"),
        " (backfilled)" if snapshot.backfilled else "",
        plural(len(snapshot.articles), "article"),
        plural(len(snapshot.sources), "source"),
        failed,
        plural(len(selection.candidates), "candidate paper"),
        len(selection.updated),
        len(selection.covered),
        selection.filtered_out,
    )
