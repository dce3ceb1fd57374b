"""The only place that knows the order of the stages: fetch -> select -> write -> render (the
full texts of the chosen papers are fetched inside write, once ranking has chosen them).

`build(config, deps)` runs them for the source's date and returns the RunReport, in one event loop
that owns the LLM client (`async with`): the preflight, the fetch (in a thread: the HTTP client
and parsers are synchronous), then the write stage as one asyncio DAG (every paper and the topic
flow at once, the overview when both are done), then publishing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from digest import __version__
from digest.config import Config, Endpoint, NewsConfig
from digest.deliver.notify import deliver
from digest.errors import EXIT_DEGRADED, EXIT_NOT_PUBLISHED, EXIT_PUBLISHED, NotPublished
from digest.fetch.arxiv import fetch_papers
from digest.fetch.code import with_code
from digest.fetch.feeds import fetch_news
from digest.fetch.fulltext import fetch_fulltexts, missing_in_snapshot
from digest.fetch.profile import profile_papers
from digest.fetch.sources import Pacer, Source
from digest.fetch.upvotes import fetch_upvotes
from digest.files import write_atomic
from digest.llm.batch import ProviderBatches, deferred_requests, run_batched
from digest.llm.client import LLMClient
from digest.llm.deferral import watched
from digest.llm.embeddings import Embedder, EmbeddingError
from digest.llm.request import Request
from digest.models import (
    Article,
    Digest,
    Grouping,
    Listed,
    Overview,
    Paper,
    PaperWriteup,
    Ranking,
    RunReport,
    Section,
    Snapshot,
    SourceStatus,
    Usage,
)
from digest.progress import Reporter
from digest.rebuild import keep_published, shortfall, unchanged_since
from digest.render.index import writeups_before
from digest.render.publish import stage_day
from digest.render.search import SearchIndexError, index_site
from digest.render.site import read_published
from digest.report import failures, log_fetched, report_json, run_report
from digest.select.news import embedding, stories_of
from digest.select.papers import Selection, select_papers
from digest.select.rank import score_papers
from digest.select.reader import Profile, load_profile
from digest.words import plural
from digest.write.grounding import Candidates
from digest.write.overview import write_overview
from digest.write.papers import write_paper
from digest.write.section import Desk
from digest.write.tldr import write_tldrs
from digest.write.topics import name_topics, write_commentary
from digest.write.triage import rank_papers, rank_without_model

log = logging.getLogger(__name__)
QUIET_DAY = "No new arXiv announcements and no news in the configured feeds today."


@dataclass
class Deps:
    """What a build needs from outside: where responses come from, the LLM, where files go."""

    source: Source
    endpoint: Endpoint  # the resolved endpoint: the task models, drafters and synthesizer
    llm: Callable[[], LLMClient]  # a new client for one run's event loop (the build enters and closes it)
    output: Path  # the site: pages, archive, feeds, digest.json and nothing else
    data: Path  # what the operator keeps: raw responses, caches, the run records (run.json)
    pacer: Pacer
    progress: Reporter = field(default_factory=Reporter)
    embedder: Embedder | None = None  # the endpoint's /v1/embeddings, when reader or news.embeddings names its model
    embedding_errors: list[str] = field(default_factory=list)  # what fell back to what when it failed
    batch: bool = False  # llm.batch for a provider endpoint: the day's requests go as Batch API jobs
    batch_wait: float = 0.0  # seconds to wait for a running batch (build --wait) before exit 4
    # The full texts fetched for a set of chosen papers (by their arXiv ids): a batched build writes
    # the day more than once, and fetches them once.
    fulltexts: dict[tuple[str, ...], list[Paper]] = field(default_factory=dict)


def fetch(config: Config, source: Source, pacer: Pacer) -> Snapshot:
    """The papers, articles and source statuses of `source.date` (the one day a source stores and
    replays: the date is given once, to the source), raw responses kept by `source`.

    The news feeds are fetched while the arXiv requests wait out their 3 s pacing, so the fetch
    stage takes about as long as the arXiv floor alone.
    """
    date = source.date
    with ThreadPoolExecutor(max_workers=1) as pool:
        news = pool.submit(fetch_news, config.news, date, source, config.fetch.workers)
        papers, paper_statuses, backfilled = fetch_papers(config.arxiv, date, source, pacer)
        articles, feed_statuses = news.result()
    listed, upvote_statuses = fetch_upvotes(config.papers, date, source)
    return Snapshot(
        date=date,
        papers=with_code(papers, {i: e.code_url for i, e in (listed or {}).items() if e.code_url}),
        articles=articles,
        sources=paper_statuses + feed_statuses + upvote_statuses,
        backfilled=backfilled,
        upvotes={i: e.upvotes for i, e in listed.items()} if listed is not None else None,
    )


def store_fulltexts(snapshot: Snapshot, config: Config, source: Source, pacer: Pacer) -> list[Paper] | None:
    """For `digest fetch`, so that a later replay reads what a live build would: the papers a build
    would write up, with the full texts `papers.fulltext` asks for fetched (and stored by `source`).
    None when choosing the papers needs the triage model: the build fetches their full texts then,
    and a replay reports the ones its snapshot lacks (missing_in_snapshot)."""
    ranking = rank_without_model(
        select_papers(snapshot.papers, config.papers).candidates, config.papers, snapshot.upvotes
    )
    if ranking is None:
        return None
    return fetch_fulltexts(ranking.papers, config.papers, config.arxiv, source, pacer)


def _degraded(embed, fallback, what: str, deps: Deps):
    """`embed` run; on an EmbeddingError, `fallback` run, and `what` fell back recorded for the report."""
    try:
        return embed()
    except EmbeddingError as exc:
        deps.embedding_errors.append(f"{what}: {exc}")
        log.warning("%s: %s", what, exc)
        return fallback()


async def _topics(articles: list[Article], news: NewsConfig, desk: Desk, deps: Deps) -> Grouping:
    """The day's topics, each with its commentary (drafts in parallel); no commentary while the
    topic names wait for a batch (it would be asked of topics titled by their keywords)."""
    clusters = await asyncio.to_thread(
        _degraded,
        lambda: stories_of(articles, news, deps.embedder),
        lambda: stories_of(articles, news),
        f"topics clustered by WordLlama instead of {news.embeddings}",
        deps,
    )
    grouping, waiting = await watched(name_topics(clusters, desk))
    if waiting:
        return grouping
    comments = await asyncio.gather(*(write_commentary(t, desk) for t in grouping.topics))
    topics = [t.model_copy(update={"commentary": c}) for t, c in zip(grouping.topics, comments, strict=True)]
    return grouping.model_copy(update={"topics": topics})


@dataclass
class _Papers:
    """The paper side of the day: which were chosen, their write-ups, the full texts a replay lacked."""

    ranking: Ranking
    writeups: list[PaperWriteup]
    missing: list[SourceStatus]


async def _papers(snapshot: Snapshot, selection: Selection, config: Config, desk: Desk, deps: Deps) -> _Papers:
    """Ranking, full texts (when configured), then every chosen paper's write-up at once; none while
    the ranking waits for a batch (the papers it would choose are not known yet)."""
    ranking, waiting = await watched(
        rank_papers(selection.candidates, config.papers, desk, snapshot.upvotes, selection.relevance, config.reader)
    )
    if waiting:
        return _Papers(ranking, [], [])
    deps.progress.stage(
        "writing", f"{len(ranking.papers)} of {len(selection.candidates)} candidate papers ({ranking.method})"
    )
    chosen = tuple(p.arxiv_id for p in ranking.papers)
    if chosen not in deps.fulltexts:
        deps.fulltexts[chosen] = await asyncio.to_thread(
            fetch_fulltexts, ranking.papers, config.papers, config.arxiv, deps.source, deps.pacer
        )
    papers, day = deps.fulltexts[chosen], Candidates(snapshot.papers)
    done = 0

    async def one(paper: Paper) -> PaperWriteup:
        nonlocal done
        writeup = await write_paper(paper, desk, day)
        writeup.relevance = (ranking.relevance or selection.relevance or {}).get(paper.arxiv_id)
        done += 1
        deps.progress.paper_written(done, len(papers), desk.llm.usage)
        return writeup

    writeups = list(await asyncio.gather(*(one(p) for p in papers)))
    return _Papers(ranking, writeups, missing_in_snapshot(papers, config.papers, config.arxiv, deps.source))


async def write(snapshot: Snapshot, selection: Selection, config: Config, llm: LLMClient, deps: Deps) -> Digest:
    """Every LLM section of the day, as one concurrent DAG: the papers (ranking, full texts,
    write-ups) beside the topics and the TL;DRs of every candidate, then the overview of the
    papers and topics."""
    desk = Desk(llm, deps.endpoint, snapshot.date)
    tldrs = asyncio.create_task(write_tldrs(selection.candidates, config.papers, desk))

    async def both() -> tuple[_Papers, Grouping]:
        return await asyncio.gather(
            _papers(snapshot, selection, config, desk, deps), _topics(snapshot.articles, config.news, desk, deps)
        )

    (papers, grouping), waiting = await watched(both())
    deps.progress.stage("overview", f"{plural(len(grouping.topics), 'topic')} with commentary written")
    if waiting:  # the overview would be asked of sections still in a batch
        overview = Section[Overview](status="unavailable", error="waiting for a batch")
    elif papers.writeups or grouping.topics:
        overview = await write_overview(papers.writeups, grouping.topics, desk)
    else:  # nothing to write about: no model call, and nothing missing
        overview = Section[Overview](status="ok", content=Overview(paragraphs=[QUIET_DAY]))
    written, listed_error = await tldrs
    chosen = {w.paper.arxiv_id for w in papers.writeups}
    relevance = papers.ranking.relevance or selection.relevance or {}
    listed = [
        Listed(
            paper=p, tldr=written.get(p.arxiv_id), written_up=p.arxiv_id in chosen, relevance=relevance.get(p.arxiv_id)
        )
        for p in selection.candidates
    ]
    return Digest(
        date=snapshot.date,
        generated_at=dt.datetime.now(dt.UTC),
        version=__version__,
        papers=papers.writeups,
        topics=grouping.topics,
        overview=overview,
        topic_plan_status=grouping.status,
        sources=snapshot.sources + papers.missing,
        backfilled=snapshot.backfilled,
        usage=_usage(llm, deps.embedder),
        updated=selection.updated,
        covered=selection.covered,
        filtered_out=selection.filtered_out,
        ranking=papers.ranking.method,
        ranking_error=papers.ranking.error,
        listed=listed,
        listed_error=listed_error,
        listed_model=deps.endpoint.models.triage if written else None,
        embedding_error="; ".join(deps.embedding_errors) or None,
    )


def _usage(llm: LLMClient, embedder: Embedder | None) -> Usage:
    """The run's usage: the LLM's, and the endpoint's embedding requests (they are requests too)."""
    if embedder is None:
        return llm.usage
    u = llm.usage
    return u.model_copy(
        update={"calls": u.calls + embedder.calls, "prompt_tokens": u.prompt_tokens + embedder.prompt_tokens}
    )


async def _fetch_and_select(config: Config, deps: Deps, profile: Profile) -> tuple[Snapshot, Selection]:
    """The day's snapshot and what of it is written up, each candidate scored against the reader
    `profile` (with the papers its arXiv ids name, fetched once). Raises NotPublished when every
    source failed."""
    snapshot = await asyncio.to_thread(fetch, config, deps.source, deps.pacer)
    check_usable(snapshot)
    if config.reader.papers:
        args = (config.reader.papers, config.arxiv, deps.source, deps.pacer, deps.data)
        named, statuses = await asyncio.to_thread(profile_papers, *args)
        profile = load_profile(config.reader, Path(), named)
        snapshot = snapshot.model_copy(update={"sources": snapshot.sources + statuses})
    earlier = writeups_before(deps.output, deps.data, snapshot.papers, snapshot.date)
    selection = select_papers(snapshot.papers, config.papers, earlier)
    reader_embed = embedding(config.reader.embeddings, deps.embedder)
    relevance = await asyncio.to_thread(
        _degraded,
        lambda: score_papers(selection.candidates, profile, reader_embed),
        lambda: score_papers(selection.candidates, profile),
        f"reader relevance without the embeddings of {config.reader.embeddings}",
        deps,
    )
    selection = selection.model_copy(update={"relevance": relevance})
    log_fetched(snapshot, selection)
    return snapshot, selection


def batch_requests(config: Config, deps: Deps) -> list[Request]:
    """For `digest batch export`: the requests of the day's write stage that the answer cache cannot
    answer yet, those that fail inside a batch included, in the order first asked; what waits for
    their answers is asked by a later export (digest.llm.deferral). Raises NotPublished when every
    source failed."""

    profile = load_profile(config.reader, Path())

    async def collect() -> list[Request]:
        async with deps.llm() as llm:
            snapshot, selection = await _fetch_and_select(config, deps, profile)
            write_day = functools.partial(write, snapshot, selection, config, llm, deps)
            return (await deferred_requests(llm, write_day, resend_failed=True))[1]

    return asyncio.run(collect())


async def _write_day(snapshot: Snapshot, selection: Selection, config: Config, llm: LLMClient, deps: Deps) -> Digest:
    """`write`, with the day's requests sent as provider batches when `deps.batch`: raises
    BatchPending (exit 4) while a batch runs, see digest.llm.batch."""
    write_day = functools.partial(write, snapshot, selection, config, llm, deps)
    if not deps.batch:
        return await write_day()
    async with ProviderBatches(deps.endpoint, llm.cache, poll=config.llm.batch_poll) as batches:
        return await run_batched(snapshot.date.isoformat(), llm, batches, write_day, wait=deps.batch_wait)


def check_usable(snapshot: Snapshot) -> None:
    """Raise NotPublished when every source failed with nothing to fall back on: such a day would
    publish an empty page over whatever was there."""
    if snapshot.sources and all(s.state == "failed" for s in snapshot.sources):
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in snapshot.sources[:3])
        more = f" (and {len(snapshot.sources) - 3} more)" if len(snapshot.sources) > 3 else ""
        raise NotPublished(f"every source failed ({reasons}{more})")


def build(config: Config, deps: Deps, strict: bool = False, replace: bool = False, resend: bool = False) -> RunReport:
    """Fetch, select, write and render the day of `deps.source` (its `date`); the page is written
    to <output>/<date>/index.html.

    Returns the RunReport, also written as <data>/<date>/run.json (run-failed.json when nothing
    was published, so the published day's record stays). Model and source failures
    degrade their sections and are listed in the report: exit status 3 (published, degraded), or
    with `strict` 1 and nothing published (the previous page stays). Raises NotPublished before
    any LLM call when every source failed, and OSError when the output cannot be written (the
    previous page stays: every file is replaced atomically).

    A rebuild of a published day keeps what it could not fetch or write again (digest.rebuild);
    if it still has less than the published page, nothing is published (NotPublished) unless
    `replace`. One event loop (and one LLM client from `deps.llm`) per call, so a process may build any
    number of days. Raises PreflightError when the endpoint fails a first tiny request: before any
    fetching for a live build, before the first uncached call for a replay. Raises BatchPending
    (exit 4, nothing published) while the day's batch runs (`deps.batch`).

    Once the day is published, its year is indexed for search (digest.render.search) and its
    notifications go out (digest.deliver, `config.notify`): each target once per day, every one
    again with `resend`. A failed index or target is a problem of the run (exit status 3), and the
    page stays published.
    """
    return asyncio.run(_build(config, deps, strict, replace, resend))


async def _build(config: Config, deps: Deps, strict: bool, replace: bool, resend: bool) -> RunReport:
    date, started = deps.source.date, dt.datetime.now(dt.UTC)
    profile = load_profile(config.reader, Path())  # a malformed library: ConfigError before any request
    async with deps.llm() as llm:
        if deps.source.live:
            await llm.preflight()  # before any fetching: a wrong endpoint costs no arXiv request
        deps.progress.stage(
            "fetching", f"arXiv {', '.join(config.arxiv.categories)} and {plural(len(config.news.feeds), 'feed')}"
        )
        snapshot, selection = await _fetch_and_select(config, deps, profile)
        digest = await _write_day(snapshot, selection, config, llm, deps)
    published = read_published(deps.output, date)
    digest = unchanged_since(keep_published(digest, published), published)
    problems = failures(digest)
    less = None if replace else shortfall(digest, published)
    if (problems and strict) or less:
        report = run_report(date, started, None, snapshot, digest, problems, EXIT_NOT_PUBLISHED)
        write_atomic(
            deps.data / date.isoformat() / "run-failed.json", report_json(report)
        )  # beside run.json, never over it
        if less:
            raise NotPublished(
                f"the rebuild has less than the published page: {less} (build with --replace to publish it anyway)"
            )
        return report
    deps.progress.stage("publishing", "the page, the archive and the feed")
    staged = stage_day(digest, deps.output, config.site, deps.data)
    report = run_report(
        date, started, str(staged.page), snapshot, digest, problems, EXIT_DEGRADED if problems else EXIT_PUBLISHED
    )
    try:  # run.json describes the published page: it is switched in with it
        staged.write(deps.data / date.isoformat() / "run.json", report_json(report))
    except BaseException:
        staged.discard()
        raise
    staged.commit()
    after = [f"search index: {exc}" for exc in [await _search_index(deps.output, date)] if exc]
    degraded = bool(report.failures or after)
    after += await asyncio.to_thread(deliver, digest, config.notify, config.site.url, deps.data, resend, degraded)
    if not after:
        return report
    # The page is published: what failed after it is one more problem, and run.json says so.
    report = report.model_copy(update={"failures": report.failures + after, "exit_status": EXIT_DEGRADED})
    write_atomic(deps.data / date.isoformat() / "run.json", report_json(report))
    return report


async def _search_index(output: Path, date: dt.date) -> Exception | None:
    """Index the published `date`'s year for search (digest.render.search); the error, if it failed
    (the year's previous bundle stays)."""
    try:
        await asyncio.to_thread(index_site, output, date.year)
    except (SearchIndexError, OSError) as exc:  # the page is published: a full disk here costs the index only
        return exc
    return None
