"""The other commands: fetch (live, against a feed server on 127.0.0.1), check, and a live
build replayed afterwards from what it stored."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import DEMO_DATE, DEMO_SNAPSHOT, build_args

from digest.cli import main
from digest.fetch.store import SnapshotStore

DAY = dt.date.fromisoformat(DEMO_DATE)


@pytest.fixture
def feed_server():
    """Serves the demo snapshot's recorded bodies over real HTTP: /<source name> -> body."""
    store = SnapshotStore(DEMO_SNAPSHOT, DAY)
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            name = self.path.lstrip("/").split("?")[0].replace("%20", " ")
            hits.append(name)
            resp = store.load(name)
            if resp is None:
                self.send_error(404)
                return
            # The recorded API page answered a category query (364,218 results); served for the day's
            # window, it is the whole listing.
            body = resp.body.replace(b"<opensearch:totalResults>364218<", b"<opensearch:totalResults>20<")
            self.send_response(200)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.hits = hits
    server.base = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def _live_config(tmp_path, server, broken_feed=False) -> str:
    feeds = "\n".join(
        f'    - {{name: "{n}", kind: news, url: "{server.base}/feed-{n}"}}' for n in ("OpenAI News", "Anthropic News")
    )
    if broken_feed:
        feeds += f'\n    - {{name: "Gone", kind: news, url: "{server.base}/feed-Gone"}}'
    path = tmp_path / "live.yaml"
    path.write_text(f"""arxiv:
  categories: [cs.AI, cs.CL, cs.LG]
  rss_url: "{server.base}/arxiv-rss-{{category}}"
  api_url: "{server.base}/arxiv-api"
  delay_seconds: 0.01
papers:
  max: 3
fetch:
  allow_private: ["127.0.0.1:{server.server_port}"]
news:
  window_days: 14
  feeds:
{feeds}
""")
    return str(path)


def test_fetch_stores_every_response_for_a_later_replay(feed_server, tmp_path, capsys):
    config = _live_config(tmp_path, feed_server, broken_feed=True)
    assert main(["fetch", "--date", DEMO_DATE, "--config", config, "--data", str(tmp_path / "data")]) == 3
    out = capsys.readouterr().out
    assert "20 papers" in out and "(backfilled)" in out and "failed" in out and "HTTP 404" in out
    index = json.loads((tmp_path / "data" / DEMO_DATE / "index.json").read_text())
    assert set(index) >= {"arxiv-rss-cs.AI", "arxiv-api", "feed-OpenAI News", "feed-Gone"}
    assert index["feed-Gone"]["error"] == "HTTP 404"


def test_live_build_then_replay_gives_the_same_papers(feed_server, fake_llm, tmp_path):
    config = _live_config(tmp_path, feed_server)
    args = build_args(data=tmp_path / "data", config=config, snapshot=None)
    assert main(args + ["--output", str(tmp_path / "live")]) == 0
    hits = len(feed_server.hits)
    assert main(args + ["--output", str(tmp_path / "replay"), "--snapshot", str(tmp_path / "data")]) == 0
    assert len(feed_server.hits) == hits  # the replay touched no network
    live, replay = ((tmp_path / d / DEMO_DATE / "digest.json").read_text() for d in ("live", "replay"))
    titles = [[w["paper"]["title"] for w in json.loads(x)["digest"]["papers"]] for x in (live, replay)]
    assert titles[0] == titles[1] and len(titles[0]) == 3


def test_check_calls_every_model_once(fake_llm, tmp_path, capsys):
    config = tmp_path / "sources.yaml"
    config.write_text(
        "llm:\n  models: {triage: m1, summary: m1, review: m1, directions: m2, topics: m1, overview: m1}\n"
        "  commentary: {drafters: [m1, m3], synthesizer: m1}\n"
    )
    assert main(["check", "--config", str(config)]) == 0
    assert sorted(r["model"] for r in fake_llm.requests) == ["m1", "m2", "m3"]
    fake_llm.behaviour["m3"] = "error"
    assert main(["check", "--config", str(config)]) == 2
    out = capsys.readouterr().out
    assert "drafters:" in out and "FAILED  m3" in out and "test-key" not in out


def test_a_wrong_endpoint_fails_before_any_fetching(feed_server, fake_llm, tmp_path, capsys):  # L9a
    fake_llm.behaviour["gpt-4o-mini"] = "html200"  # as when the base URL lacks /v1
    config = _live_config(tmp_path, feed_server)
    assert main(build_args(output=tmp_path / "site", data=tmp_path / "data", config=config, snapshot=None)) == 2
    assert feed_server.hits == []
    assert "preflight" in capsys.readouterr().err
