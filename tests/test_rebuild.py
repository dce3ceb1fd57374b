"""A rebuild never loses a good day: an endpoint that is down or failing stops a replay before it
writes anything, a rebuild from the cache needs no endpoint at all, and one process can build
several days with the same dependencies."""

import datetime as dt
import functools
import socket

from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT
from digest.cli import main
from digest.commands import llm_client
from digest.config import load_config, resolve_endpoint
from digest.fetch.sources import Pacer, ReplaySource
from digest.fetch.store import SnapshotStore
from digest.llm.cache import AnswerCache
from digest.pipeline import Deps, build


def _build(tmp_path, data="data", *extra):
    return main(["build", "--date", DEMO_DATE, "--config", str(DEMO_CONFIG), "--snapshot", str(DEMO_SNAPSHOT),
                 "--output", str(tmp_path / "site"), "--data", str(tmp_path / data), *extra])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def _page(tmp_path) -> bytes:
    return (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes()


def test_a_replay_on_a_fresh_runner_stops_when_the_endpoint_fails(fake_llm, tmp_path, monkeypatch, capsys):
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
        deps = Deps(source=ReplaySource(SnapshotStore(DEMO_SNAPSHOT, day)), endpoint=endpoint,
                    llm=functools.partial(llm_client, config, endpoint, 4, cache), output=tmp_path / "site",
                    data=tmp_path / "data", pacer=Pacer(0))
        first = build(day, config, deps)
        second = build(day, config, deps)  # a new event loop and client; the cache is shared
    assert first.exit_status == second.exit_status == 0
    assert first.usage.calls == second.usage.cache_hits > 0 and second.usage.calls == 0
