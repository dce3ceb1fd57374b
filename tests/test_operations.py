"""Unattended operation: the run lock, kills, unwritable output, --strict, secrets (fault catalogue O1-O10)."""

import errno
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, build_args, demo_config

from digest.cli import main
from digest.commands import run_lock
from digest.config import load_config

CANARY_KEY = "sk-CANARY-7f3a9c1e5b2d4f60"


def _build(tmp_path, *extra, config=DEMO_CONFIG):
    return main(build_args(*extra, output=tmp_path / "site", data=tmp_path / "data", config=config))


def test_a_second_run_exits_at_once_while_the_first_holds_the_lock(fake_llm, tmp_path, capsys):  # O2
    with run_lock(tmp_path / "site"):
        start = time.monotonic()
        assert _build(tmp_path) == 1
        assert time.monotonic() - start < 2
    assert "another digest run" in capsys.readouterr().err
    assert not (tmp_path / "site" / DEMO_DATE).exists()  # nothing touched
    assert len(fake_llm.requests) == 0


def test_a_killed_run_leaves_no_stale_lock(fake_llm, tmp_path):  # O3
    holder = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from digest.commands import run_lock
        with run_lock(Path({str(tmp_path / "site")!r})):
            print("locked", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    assert _build(tmp_path) == 1  # busy while the holder lives
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _build(tmp_path) == 0


def test_a_failed_write_keeps_the_previous_page(fake_llm, tmp_path, monkeypatch, capsys):  # O1, O8
    assert _build(tmp_path) == 0
    page = tmp_path / "site" / DEMO_DATE / "index.html"
    before = page.read_bytes()

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("digest.files.os.fsync", full_disk)
    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    summary: another-model\n", "other.yaml"
    )
    assert _build(tmp_path, config=config) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert page.read_bytes() == before
    assert not list((tmp_path / "site").rglob("*.partial"))


def test_leftovers_of_a_killed_write_are_cleaned_up(fake_llm, tmp_path):  # O1
    day = tmp_path / "site" / DEMO_DATE
    day.mkdir(parents=True)
    (day / ".index.html.abc123.partial").write_text("half a page")
    assert _build(tmp_path) == 0
    assert not list((tmp_path / "site").rglob("*.partial"))


def test_strict_publishes_nothing_when_degraded(fake_llm, tmp_path, capsys):  # O7, P11
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    overview: broken\n", "broken.yaml")
    fake_llm.behaviour["broken"] = "garbage"
    assert _build(tmp_path, "--strict", config=config) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("digest: not published:") and "--strict" in err[-1]  # the last stderr line says why
    report = json.loads((tmp_path / "data" / DEMO_DATE / "run-failed.json").read_text())
    assert report["page"] is None and report["exit_status"] == 1 and report["failures"]
    assert not (tmp_path / "site" / DEMO_DATE).exists()  # no day folder holding only a record
    assert not (tmp_path / "data" / DEMO_DATE / "run.json").exists()
    assert _build(tmp_path, config=config) == 3  # without --strict: published, degraded


def test_the_api_key_never_reaches_any_artifact(fake_llm, tmp_path, monkeypatch, capsys):  # O10
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    assert _build(tmp_path, "-v") == 0
    out = capsys.readouterr()
    assert CANARY_KEY not in out.out + out.err
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files)
    for path in files:
        assert CANARY_KEY.encode() not in path.read_bytes(), path


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    assert "3 published but degraded" in capsys.readouterr().out


def test_a_run_killed_in_the_llm_phase_resumes_with_only_the_missing_calls(fake_llm, tmp_path):  # O5
    fake_llm.latency = 0.05  # seconds per answer, so the kill lands mid-run
    total = 3 * load_config(DEMO_CONFIG).papers.max + 1 + 3 + 1 + 1  # papers, topic names, 3 drafts, overview, TL;DRs
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digest.cli",
            "build",
            "--date",
            DEMO_DATE,
            "--config",
            str(DEMO_CONFIG),
            "--snapshot",
            str(DEMO_SNAPSHOT),
            "--output",
            str(tmp_path / "site"),
            "--data",
            str(tmp_path / "data"),
        ],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(fake_llm.requests) < 7 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    killed_after = len(fake_llm.requests)
    assert 7 <= killed_after < total and not (tmp_path / "site" / DEMO_DATE / "index.html").exists()
    with sqlite3.connect(tmp_path / "data" / "llm-cache.sqlite") as db:
        kept = db.execute("SELECT count(*) FROM answers").fetchone()[0]
    assert kept >= 1
    fake_llm.latency = 0
    assert _build(tmp_path) == 0
    report = json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())
    assert report["usage"]["cache_hits"] == kept
    assert report["usage"]["calls"] == total - kept  # only what the killed run had not stored


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_live_progress_display_and_a_pipe_gets_log_lines(fake_llm, tmp_path, monkeypatch, capsys):
    terminal, captured = _Terminal(), sys.stderr
    monkeypatch.setattr(sys, "stderr", terminal)
    assert _build(tmp_path) == 0
    shown = terminal.getvalue()
    assert "\x1b[" in shown  # drawn with terminal control codes
    assert "publishing" in shown and "10/10" in shown and re.search(r"\d+ calls, \d+ cached, [\d,]+ tokens", shown)
    assert "Published" in capsys.readouterr().out  # the one summary line, on stdout
    monkeypatch.setattr(sys, "stderr", captured)
    assert _build(tmp_path / "again") == 0
    lines = capsys.readouterr().err.splitlines()  # not a terminal: plain, timestamped lines
    assert any(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO paper 10/10 written", line) for line in lines)
    assert not any("\x1b[" in line for line in lines)
