"""A rebuild never loses a good day: an endpoint that is down or failing stops a replay before it
writes anything, sources and sections that fail keep what the published page had, a rebuild with
less is refused unless --replace, a rebuild from the cache needs no endpoint at all, and one
process can build several days with the same dependencies."""

import datetime as dt
import functools
import json
import shutil
import socket

from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, build_args, demo_config

from digest.cli import main
from digest.commands import llm_client
from digest.config import load_config, resolve_endpoint
from digest.fetch.sources import Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.llm.cache import AnswerCache
from digest.pipeline import Deps, build


def _build(tmp_path, data="data", *extra):
    return main(build_args(*extra, output=tmp_path / "site", data=tmp_path / data))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def _page(tmp_path) -> bytes:
    return (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes()


def test_a_replay_on_a_fresh_runner_stops_when_the_endpoint_fails(fake_llm, tmp_path, monkeypatch, capsys):  # P2
    assert _build(tmp_path) == 0
    good = _page(tmp_path)
    fake_llm.behaviour["gpt-4o-mini"] = "error"  # HTTP 500 to everything
    before = len(fake_llm.requests)
    assert _build(tmp_path, "fresh-data") == 2
    assert "preflight" in capsys.readouterr().err.strip().splitlines()[-1]
    assert _page(tmp_path) == good
    assert len(fake_llm.requests) == before + 1  # the preflight, and no section written without the model
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")  # the endpoint is down
    assert _build(tmp_path, "fresher-data") == 2
    assert _page(tmp_path) == good


def test_a_rebuild_from_the_cache_needs_no_endpoint(fake_llm, tmp_path, monkeypatch):
    assert _build(tmp_path) == 0
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    assert _build(tmp_path) == 0  # every answer is in the cache: no call, so no preflight either


def test_one_process_builds_twice_with_the_same_dependencies(fake_llm, tmp_path):
    config = load_config(DEMO_CONFIG)
    endpoint = resolve_endpoint(config.llm)
    day = dt.date.fromisoformat(DEMO_DATE)
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        deps = Deps(
            source=ReplaySource(SnapshotStore(DEMO_SNAPSHOT, day)),
            endpoint=endpoint,
            llm=functools.partial(llm_client, config, endpoint, 4, cache),
            output=tmp_path / "site",
            data=tmp_path / "data",
            pacer=Pacer(0),
        )
        first = build(config, deps)
        second = build(config, deps)  # a new event loop and client; the cache is shared
    assert first.exit_status == second.exit_status == 0
    assert first.usage.calls == second.usage.cache_hits > 0 and second.usage.calls == 0


def _failing_snapshot(tmp_path, failing) -> str:
    """The demo snapshot with the responses whose names `failing(name)` picks turned into HTTP 404s."""
    snap = tmp_path / "failing-snapshot"
    shutil.copytree(DEMO_SNAPSHOT, snap)
    index = snap / DEMO_DATE / "index.json"
    entries = json.loads(index.read_text())
    for name, entry in entries.items():
        if failing(name):
            entry.update(status=404, error="HTTP 404")
    index.write_text(json.dumps(entries))
    return str(snap)


def _rebuild(tmp_path, snapshot, *extra, config=DEMO_CONFIG, data="rebuild-data"):
    return main(build_args(*extra, output=tmp_path / "site", data=tmp_path / data, config=config, snapshot=snapshot))


def _day(tmp_path) -> dict:
    return json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]


def _paper_pages(tmp_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (tmp_path / "site" / DEMO_DATE / "papers").glob("*.html")}


def test_a_rebuild_while_arxiv_fails_keeps_the_days_papers(fake_llm, tmp_path):  # P1
    assert _build(tmp_path) == 0
    before, pages = _day(tmp_path), _paper_pages(tmp_path)
    assert _rebuild(tmp_path, _failing_snapshot(tmp_path, lambda name: name.startswith("arxiv"))) == 3
    after = _day(tmp_path)
    assert [w["paper"]["arxiv_id"] for w in after["papers"]] == [w["paper"]["arxiv_id"] for w in before["papers"]]
    assert after["papers"] == before["papers"] and _paper_pages(tmp_path) == pages  # write-ups and permalinks
    assert {s["state"] for s in after["sources"] if s["source"].startswith("arxiv")} == {"stale"}


def test_a_rebuild_while_every_feed_fails_keeps_the_days_news(fake_llm, tmp_path):  # P1, for the feeds
    assert _build(tmp_path) == 0
    before = _day(tmp_path)
    assert _rebuild(tmp_path, _failing_snapshot(tmp_path, lambda name: name.startswith("feed-"))) == 3
    after = _day(tmp_path)
    assert after["topics"] == before["topics"] and before["topics"]


def test_a_section_the_rebuild_cannot_write_keeps_its_published_version(fake_llm, tmp_path):  # P2
    assert _build(tmp_path) == 0
    before = _day(tmp_path)
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    review: broken\n", "broken.yaml")
    fake_llm.behaviour["broken"] = "garbage"
    assert _rebuild(tmp_path, str(DEMO_SNAPSHOT), config=config) == 3
    after = _day(tmp_path)
    for old, new in zip(before["papers"], after["papers"], strict=True):
        assert new["review"]["content"] == old["review"]["content"] and new["review"]["kept_from"]
        assert "today's rebuild could not write it" in new["review"]["error"]
    page = (tmp_path / "site" / DEMO_DATE / "index.html").read_text()
    assert "kept: a rebuild could not write it again" in page and "The review is unavailable" not in page


def test_a_rebuild_with_less_is_refused_unless_replace(fake_llm, tmp_path, capsys):
    assert _build(tmp_path) == 0
    before, pages = (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes(), _paper_pages(tmp_path)
    config = demo_config(tmp_path, DEMO_CONFIG.read_text().replace("max: 10", "max: 3"), "fewer.yaml")
    assert "max: 3" in config.read_text()
    assert _rebuild(tmp_path, str(DEMO_SNAPSHOT), config=config) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "3 papers written up where the published page has 10" in last and "--replace" in last
    assert (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes() == before
    assert _rebuild(tmp_path, str(DEMO_SNAPSHOT), "--replace", config=config) == 0
    assert len(_day(tmp_path)["papers"]) == 3 and _paper_pages(tmp_path).keys() == pages.keys()  # permalinks stay


def test_the_ranking_source_is_not_a_news_feed(fake_llm, tmp_path):  # P1: every feed down, Hugging Face up
    from digest.models import Digest, SourceStatus
    from digest.rebuild import keep_published, shortfall

    assert _build(tmp_path) == 0
    published = Digest.model_validate(_day(tmp_path))
    feeds = [s.model_copy(update={"state": "failed"}) for s in published.sources if not s.source.startswith("arxiv")]
    ranking = SourceStatus(source="huggingface-daily-papers", url="https://huggingface.co/api", state="ok", items=5)
    arxiv = [s for s in published.sources if s.source.startswith("arxiv")]
    rebuilt = published.model_copy(update={"topics": [], "sources": arxiv + feeds + [ranking]})
    kept = keep_published(rebuilt, published)
    assert kept.topics == published.topics and shortfall(kept, published) is None
    assert {s.state for s in kept.sources if s.source in {f.source for f in feeds}} == {"stale"}
    assert next(s for s in kept.sources if s.source == ranking.source).state == "ok"
