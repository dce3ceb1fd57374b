"""The LLM answer cache: reruns make no calls, changed inputs miss, a corrupt file is set aside."""

import json
import re

import pytest
from conftest import DEMO_CONFIG, DEMO_DATE, build_args, demo_config

from digest.cli import main
from digest.config import load_config
from digest.llm.cache import AnswerCache, cache_key


def _build(tmp_path, config=DEMO_CONFIG):
    assert main(build_args(output=tmp_path / "site", data=tmp_path / "data", config=config)) == 0
    report = tmp_path / "data" / DEMO_DATE / "run.json"
    return json.loads(report.read_text()), (tmp_path / "site" / DEMO_DATE / "index.html").read_text()


def test_a_rerun_makes_no_calls_and_the_same_page(fake_llm, tmp_path):  # O4
    first, page1 = _build(tmp_path)
    feed = (tmp_path / "site" / "feed.xml").read_bytes()
    calls = len(fake_llm.requests)
    second, page2 = _build(tmp_path)
    assert len(fake_llm.requests) == calls  # not one more request
    assert second["usage"]["calls"] == 0 and second["usage"]["cache_hits"] == first["usage"]["calls"]
    # The same day said again: the page and its feed entry, times included, stay byte for byte as they were.
    assert page1 == page2 and (tmp_path / "site" / "feed.xml").read_bytes() == feed
    rerun = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    assert all(w["summary"]["provenance"]["cached"] for w in rerun["papers"])


def test_a_changed_model_is_a_miss(fake_llm, tmp_path):
    _build(tmp_path)
    calls = len(fake_llm.requests)
    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    summary: another-model\n", "other.yaml"
    )
    report, _ = _build(tmp_path, config)
    n_papers = load_config(DEMO_CONFIG).papers.max
    assert report["usage"]["calls"] == n_papers  # only the summaries, written by the new model
    assert len(fake_llm.requests) == calls + 1 + n_papers  # the preflight before the first uncached call


def test_key_covers_prompt_version_model_params_and_input():  # O6
    base = cache_key("paper_summary@1", "m", {"t": 0}, [{"role": "user", "content": "abstract A"}])
    assert base != cache_key("paper_summary@2", "m", {"t": 0}, [{"role": "user", "content": "abstract A"}])
    assert base != cache_key("paper_summary@1", "m2", {"t": 0}, [{"role": "user", "content": "abstract A"}])
    assert base != cache_key("paper_summary@1", "m", {"t": 1}, [{"role": "user", "content": "abstract A"}])
    assert base != cache_key("paper_summary@1", "m", {"t": 0}, [{"role": "user", "content": "abstract B"}])


def test_a_corrupt_cache_is_set_aside(tmp_path):  # O6
    path = tmp_path / "llm-cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = AnswerCache(path)
    cache.put("k", "p@1", "m", '{"summary": "x"}', 1, 2, 0.5)
    assert cache.get("k") == ('{"summary": "x"}', 1, 2, 0.5, False)
    assert len(list(tmp_path.glob("llm-cache.sqlite.corrupt-*"))) == 1


def test_cost_is_reported_from_the_price_table(fake_llm, tmp_path):
    config = demo_config(
        tmp_path,
        DEMO_CONFIG.read_text() + "llm:\n  prices:\n    gpt-4o-mini: {prompt: 1000000, completion: 0}\n",
        "priced.yaml",
    )
    report, _ = _build(tmp_path, config)
    assert report["usage"]["cost_usd"] == pytest.approx(report["usage"]["prompt_tokens"])  # 1 USD per prompt token


def test_a_cached_rebuild_keeps_what_the_day_cost(fake_llm, tmp_path):  # a rebuild never erases the day's usage, P11
    config = demo_config(
        tmp_path,
        DEMO_CONFIG.read_text() + "llm:\n  prices:\n    gpt-4o-mini: {prompt: 1000000, completion: 0}\n",
        "priced.yaml",
    )
    first, page1 = _build(tmp_path, config)
    second, page2 = _build(tmp_path, config)
    footer = re.compile(r"· ([\d,]+ LLM calls · [\d,]+ tokens)</p>")
    assert footer.search(page1)[1] == footer.search(page2)[1]  # the page still says what the day took
    assert first["usage"]["cost_usd"] > 0 and second["usage"]["calls"] == 0 and second["usage"]["cost_usd"] == 0
    assert second["usage"]["reused_cost_usd"] == pytest.approx(first["usage"]["cost_usd"])
    assert second["usage"]["reused_prompt_tokens"] == first["usage"]["prompt_tokens"]
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    assert digest["usage"]["reused_cost_usd"] == pytest.approx(first["usage"]["cost_usd"])


def test_a_cache_from_before_versioning_is_upgraded_in_place(tmp_path):
    import sqlite3

    from digest.llm.cache import SCHEMA_VERSION

    path = tmp_path / "llm-cache.sqlite"
    with sqlite3.connect(path) as db:  # the layout of the first release: no user_version, no cost column
        db.execute(
            "CREATE TABLE answers (key TEXT PRIMARY KEY, prompt TEXT NOT NULL, model TEXT NOT NULL, "
            "answer TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, "
            "created REAL NOT NULL)"
        )
        db.execute("INSERT INTO answers VALUES ('old', 'p@1', 'm', '{}', 3, 4, 0)")
    db.close()
    cache = AnswerCache(path)
    assert cache.get("old") == ("{}", 3, 4, 0.0, False)  # kept, with no recorded cost, not retried
    cache.put("new", "p@1", "m", "{}", 1, 1, 0.25)
    cache.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    db.close()
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_cache_from_a_newer_version_is_refused_untouched(tmp_path):
    import sqlite3

    from digest.llm.cache import SCHEMA_VERSION, CacheError

    path = tmp_path / "llm-cache.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(CacheError, match="newer than this digest"):
        AnswerCache(path)
    assert path.read_bytes() == before
