"""Full text of chosen papers from a fake arXiv on 127.0.0.1: HTML first, PDF as the fallback,
capped, paced like every arXiv request, and said on the page; an overflowing request falls back
to the abstract."""

import asyncio
import datetime as dt
import json

import pytest
from conftest import DEMO_SNAPSHOT, build_args, demo_config
from servers import Server

from digest.config import ArxivConfig, LLMConfig, PapersConfig, TaskModels, resolve_endpoint
from digest.fetch import http
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.fulltext import FulltextError, fetch_fulltexts, html_text, pdf_text
from digest.fetch.sources import LiveSource, Pacer
from digest.fetch.store import SnapshotStore
from digest.llm.client import LLMClient
from digest.write.papers import write_paper
from digest.write.section import Desk

DAY = dt.date(2026, 4, 30)
PAPERS = parse_api(SnapshotStore(DEMO_SNAPSHOT, DAY).load("arxiv-api").body)[:3]
SENTENCE = "We measure how the method behaves on the benchmark and report the results in detail. "


def make_pdf(text: str, line: int = 90) -> bytes:
    """A one-page PDF (Helvetica text lines) with correct xref offsets."""
    lines = [
        text[i : i + line].replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        for i in range(0, len(text), line)
    ]
    stream = "BT /F1 8 Tf 20 780 Td 9 TL " + " ".join(f"({t}) '" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def html_page(body: str) -> bytes:
    return (
        f"<html><head><script>track()</script><style>p{{}}</style></head><body><nav>Menu</nav>"
        f"<article><h1>Title</h1><p>{body}</p><math><mi>x</mi></math>"
        f"<section class='ltx_bibliography'>[1] Someone. A cited paper.</section></article></body></html>"
    ).encode()


def test_html_text_keeps_the_article_and_drops_furniture():
    text = html_text(html_page(SENTENCE * 40))
    assert text.startswith("Title") and SENTENCE.strip() in text
    assert "track()" not in text and "Menu" not in text and "A cited paper" not in text
    with pytest.raises(FulltextError, match="only"):
        html_text(html_page("Too short."))


def test_pdf_text_reads_a_real_pdf_and_refuses_garbage():
    assert "We measure how the method behaves" in pdf_text(make_pdf(SENTENCE * 40))
    with pytest.raises(FulltextError, match="not a readable PDF"):
        pdf_text(b"%PDF-1.4 this is not a PDF at all")


@pytest.fixture
def arxiv():
    srv = Server()
    first, second, third = PAPERS
    srv.routes[f"/html/{first.arxiv_id}v{first.version}"] = (
        200,
        {"Content-Type": "text/html"},
        html_page(SENTENCE * 400),
    )
    srv.routes[f"/pdf/{second.arxiv_id}v{second.version}"] = (
        200,
        {"Content-Type": "application/pdf"},
        make_pdf("From the PDF. " + SENTENCE * 40),
    )
    yield srv  # the third paper has neither: it keeps its abstract
    srv.close()


def _fetch(arxiv, mode, tmp_path, clock=None):
    cfg = ArxivConfig(html_url=arxiv.base + "/html/{id}v{version}", pdf_url=arxiv.base + "/pdf/{id}v{version}")
    times = []

    def sleep(seconds):
        times.append(seconds)

    pacer = Pacer(3.0, clock=clock or (lambda: 0.0), sleep=sleep)
    with http.make_client() as client:
        source = LiveSource(
            client, SnapshotStore(tmp_path, DAY), http.Policy(allow_private=frozenset({f"127.0.0.1:{arxiv.port}"}))
        )
        papers = fetch_fulltexts(PAPERS, PapersConfig(fulltext=mode, fulltext_chars=5000), cfg, source, pacer)
    return papers, times


def test_html_first_then_pdf_then_the_abstract(arxiv, tmp_path):
    papers, waits = _fetch(arxiv, "html", tmp_path)
    assert [p.fulltext_source for p in papers] == ["html", "pdf", None]
    assert len(papers[0].fulltext) == 5000 and papers[1].fulltext.startswith("From the PDF.")
    assert papers[2].fulltext is None and papers[2].summary == PAPERS[2].summary
    # 1 + 2 + 2 requests, each after the pacer: four waits of 3 s on a clock that does not move
    assert [p for p, _ in arxiv.requests] == [
        f"/html/{PAPERS[0].arxiv_id}v{PAPERS[0].version}",
        f"/html/{PAPERS[1].arxiv_id}v{PAPERS[1].version}",
        f"/pdf/{PAPERS[1].arxiv_id}v{PAPERS[1].version}",
        f"/html/{PAPERS[2].arxiv_id}v{PAPERS[2].version}",
        f"/pdf/{PAPERS[2].arxiv_id}v{PAPERS[2].version}",
    ]
    assert waits == [3.0] * 4


def test_abstract_mode_makes_no_request(arxiv, tmp_path):
    papers, _ = _fetch(arxiv, "abstract", tmp_path)
    assert papers == PAPERS and arxiv.requests == []


def _write(fake_llm, paper):
    endpoint = resolve_endpoint(LLMConfig(), {"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "k"})
    llm = LLMClient(endpoint, 3, timeout=10, temperature=0)

    async def go():
        try:
            models = TaskModels(summary="small", review="ok", directions="ok")
            return await write_paper(paper, Desk(llm, endpoint.model_copy(update={"models": models}), DAY))
        finally:
            await llm.close()

    return asyncio.run(go())


def test_write_ups_read_the_full_text_and_fall_back_to_the_abstract_on_overflow(fake_llm):  # L4
    paper = PAPERS[0].model_copy(update={"fulltext": "FULLTEXT-MARKER " + SENTENCE * 20, "fulltext_source": "html"})
    fake_llm.behaviour["small"] = ["ctx400", "ok"]  # the first (full-text) request overflows
    written = _write(fake_llm, paper)
    assert written.review.provenance.input_kind == "fulltext" and written.summary.provenance.input_kind == "abstract"
    summary_requests = [r["messages"][-1]["content"] for r in fake_llm.requests if r["model"] == "small"]
    assert len(summary_requests) == 2
    assert "FULLTEXT-MARKER" in summary_requests[0] and "FULLTEXT-MARKER" not in summary_requests[1]
    assert written.summary.status == "ok"


def test_fetch_stores_the_full_texts_a_replay_reads(arxiv, tmp_path):  # P7
    from digest.config import Config
    from digest.fetch.fulltext import missing_in_snapshot
    from digest.fetch.sources import ReplaySource
    from digest.models import Snapshot
    from digest.pipeline import store_fulltexts

    config = Config(
        papers=PapersConfig(max=3, fulltext="html", fulltext_chars=5000),
        arxiv=ArxivConfig(html_url=arxiv.base + "/html/{id}v{version}", pdf_url=arxiv.base + "/pdf/{id}v{version}"),
    )
    snapshot = Snapshot(date=DAY, papers=PAPERS, articles=[], sources=[])
    with http.make_client() as client:
        live = LiveSource(
            client, SnapshotStore(tmp_path, DAY), http.Policy(allow_private=frozenset({f"127.0.0.1:{arxiv.port}"}))
        )
        fetched = store_fulltexts(snapshot, config, live, Pacer(0))
    replay = ReplaySource(SnapshotStore(tmp_path, DAY))
    replayed = fetch_fulltexts(PAPERS, config.papers, config.arxiv, replay, Pacer(0))
    assert [p.fulltext for p in replayed] == [p.fulltext for p in fetched] and fetched[0].fulltext
    assert missing_in_snapshot(replayed, config.papers, config.arxiv, replay) == []  # the third has none anywhere
    empty = ReplaySource(SnapshotStore(tmp_path / "no-full-texts", DAY))
    lacking = missing_in_snapshot(PAPERS, config.papers, config.arxiv, empty)
    assert [s.source for s in lacking] == [f"fulltext-{p.arxiv_id}" for p in PAPERS]
    assert (
        store_fulltexts(
            snapshot, config.model_copy(update={"papers": PapersConfig(max=1, rank="triage")}), live, Pacer(0)
        )
        is None
    )  # the model's choice: left to the build


def test_a_replay_without_the_full_texts_says_so(fake_llm, tmp_path):  # P7
    from conftest import DEMO_CONFIG, DEMO_DATE

    from digest.cli import main

    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text().replace("papers:\n", "papers:\n  fulltext: html\n", 1), "fulltext.yaml"
    )
    assert "fulltext: html" in config.read_text()
    assert main(build_args(output=tmp_path / "site", data=tmp_path / "data", config=config)) == 3
    report = json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())
    lacking = [f for f in report["failures"] if "holds no full text" in f]
    assert len(lacking) == 10
