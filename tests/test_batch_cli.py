"""Batch mode from the command line on the demo day: `build` with `llm.batch` submits, exits 4 while
the batch runs and publishes once it is collected; `batch export` / `batch import` round trips
through a batch runner, after which `build` publishes with no live call."""

import json
import subprocess
import sys

from conftest import DEMO_CONFIG, DEMO_DATE, build_args, demo_config
from fake_batch import FakeBatchAPI
from test_batch import RUNNER

from digest.cli import main
from digest.errors import EXIT_PENDING


def _endpoint(monkeypatch, api) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("DIGEST_MODEL", raising=False)


def _usage(tmp_path) -> dict:
    return json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())["usage"]


def test_build_submits_exits_pending_then_collects_and_publishes(tmp_path, monkeypatch, capsys):
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  batch: true\n  batch_poll: 0.01\n")
    site = tmp_path / "site"
    with FakeBatchAPI(pending_checks=1) as api:
        _endpoint(monkeypatch, api)
        assert main(build_args(output=site, config=config)) == EXIT_PENDING
        assert "still running" in capsys.readouterr().err.strip().splitlines()[-1]
        assert len(api.batches) == 1 and not (site / DEMO_DATE).exists()
        submitted = len(api.batched)
        live = [r for r in api.live if r["max_tokens"] > 1]  # the preflight ping is the only live call so far
        assert live == []

        assert main(build_args("--wait", output=site, config=config)) == 0  # collected, the rest live, published
        assert len(api.batches) == 1 and len(api.batched) > submitted
        assert (site / DEMO_DATE / "index.html").is_file()
        usage = _usage(tmp_path)
        assert usage["batch_answers"] == len(api.batched) and usage["batch_answers"] >= 20  # 10 papers x 3, topics

        batches, batched = len(api.batches), len(api.batched)
        assert main(build_args(output=site, config=config)) == 0  # a rerun asks nothing and submits nothing
        assert len(api.batches) == batches and len(api.batched) == batched and _usage(tmp_path)["calls"] == 0


def test_export_run_import_until_done_then_build_publishes_with_no_live_call(tmp_path, monkeypatch):
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    with FakeBatchAPI() as api, FakeBatchAPI() as vllm:  # the build's endpoint, and the runner's server
        _endpoint(monkeypatch, api)
        rounds = []
        for n in range(5):
            requests, output = tmp_path / f"requests-{n}.jsonl", tmp_path / f"output-{n}.jsonl"
            export = build_args("--file", str(requests), output=tmp_path / "site")
            assert main(["batch", "export", *export[1:]]) == 0
            lines = requests.read_text().splitlines()
            if not lines:
                break
            rounds.append(len(lines))
            subprocess.run([sys.executable, str(runner), str(requests), str(output), vllm.base_url], check=True)
            assert main(["batch", "import", str(output)]) == 0
        assert len(rounds) >= 2 and rounds[0] >= 30  # the papers and the topic plan, then what waits for them
        assert main(build_args(output=tmp_path / "site")) == 0
        assert api.live == [] and _usage(tmp_path)["calls"] == 0
        assert (tmp_path / "site" / DEMO_DATE / "index.html").is_file()
