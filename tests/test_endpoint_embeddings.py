"""The endpoint's embeddings on the demo day: `reader.embeddings` and `news.embeddings` naming a model
of the endpoint send its texts to /v1/embeddings once (a rerun reads them from the cache), and an
endpoint that fails them falls back to lexical relevance and WordLlama topics, the run degraded."""

import json

from conftest import DEMO_CONFIG, DEMO_DATE, build_args, demo_config

from digest.cli import main

SETTINGS = "  embeddings: emb-1\n"


def _config(tmp_path):
    text = DEMO_CONFIG.read_text().replace("reader:\n", "reader:\n" + SETTINGS).replace("news:\n", "news:\n" + SETTINGS)
    return demo_config(tmp_path, text)


def test_the_profile_and_the_topics_use_the_endpoints_model_once(fake_llm, tmp_path):
    config = _config(tmp_path)
    assert main(build_args(output=tmp_path / "site", config=config)) == 0
    asked = [r for r in fake_llm.embedding_requests if r["model"] == "emb-1"]
    texts = [t for r in asked for t in r["input"]]
    assert asked and len(texts) == len(set(texts))  # each text sent once
    report = json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())
    chat = len(fake_llm.requests) - 1  # the preflight is not counted
    assert report["usage"]["calls"] == chat + len(asked)  # embedding requests are requests of the run
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    assert digest["embedding_error"] is None and len(digest["topics"]) >= 3
    assert main(build_args(output=tmp_path / "site", config=config)) == 0
    assert len([r for r in fake_llm.embedding_requests if r["model"] == "emb-1"]) == len(asked)  # from the cache


def test_an_endpoint_that_fails_its_embeddings_degrades_the_run_not_the_page(fake_llm, tmp_path):
    fake_llm.behaviour["emb-1"] = "error"
    assert main(build_args(output=tmp_path / "site", config=_config(tmp_path))) == 3
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    assert "reader relevance without the embeddings of emb-1" in digest["embedding_error"]
    assert "topics clustered by WordLlama instead of emb-1" in digest["embedding_error"]
    assert all(entry["relevance"] for entry in digest["listed"]) and len(digest["topics"]) >= 3
    report = json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())
    assert any(f.startswith("embeddings: reader relevance without") for f in report["failures"])
