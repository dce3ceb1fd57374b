"""arXiv's OAI-PMH (arXivRaw) on recorded answers, and a backfill through it from a fake server."""

import datetime as dt

import pytest
from conftest import DATA
from servers import Server

from digest.config import ArxivConfig
from digest.fetch import http
from digest.fetch.arxiv import MAX_OAI_PAGES, fetch_papers
from digest.fetch.oai import OaiError, list_records_url, parse_list_records
from digest.fetch.sources import LiveSource, Pacer
from digest.fetch.store import SnapshotStore

LIST = (DATA / "saelim_arXivRaw_ListRecordsResponse.xml").read_bytes()


def test_list_records_give_papers_with_versions_and_a_resumption_token():
    papers, token = parse_list_records(LIST)
    assert len(papers) == 6 and token == "726959|1001"
    first = next(p for p in papers if p.arxiv_id == "0704.0471")
    assert first.title.startswith("Density dependence of the symmetry energy") and "\n" not in first.title
    assert first.authors == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert first.categories == ["nucl-ex", "nucl-th"] and first.primary_category == "nucl-ex"
    assert first.version == 1 and first.announce_type == "new" and '"stiff"' in first.summary.replace(" ", "")
    assert first.abs_url == "https://arxiv.org/abs/0704.0471" and first.doi.startswith("10.1103/")
    replaced = next(p for p in papers if p.arxiv_id == "0704.0716")
    assert replaced.version >= 2 and replaced.announce_type == "replace"


def test_no_records_is_an_empty_page_and_other_errors_are_errors():
    assert parse_list_records((DATA / "saelim_arXivRaw_ErrorResponseNoRecordsMatch.xml").read_bytes()) == ([], None)
    with pytest.raises(OaiError, match="badResumptionToken"):
        parse_list_records((DATA / "saelim_arXivRaw_ErrorResponseBadResumptionToken.xml").read_bytes())
    for body in (b"<html><body>Just a moment...</body></html>", b"", b"<feed/>"):
        with pytest.raises(OaiError):
            parse_list_records(body)


def test_entities_are_never_expanded(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    body = LIST.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(),
    )
    body = body.replace(b"<title>Density", b"<title>&x; Density")
    papers, _ = parse_list_records(body)
    assert not any("TOP-SECRET" in p.title for p in papers)


def _backfill(srv: Server, tmp_path, day: dt.date):
    """fetch_papers for `day` through OAI-PMH at `srv` (the announcement feed answers 404); closes `srv`."""
    cfg = ArxivConfig(
        categories=["nucl-th"], rss_url=srv.base + "/none/{category}", oai_url=srv.base + "/oai", backfill="oai"
    )
    try:
        with http.make_client() as client:
            source = LiveSource(
                client, SnapshotStore(tmp_path, day), http.Policy(allow_private=frozenset({f"127.0.0.1:{srv.port}"}))
            )
            return fetch_papers(cfg, day, source, Pacer(0))
    finally:
        srv.close()


def test_a_backfill_through_oai_follows_the_resumption_token(tmp_path):
    day = dt.date(2026, 4, 30)
    srv = Server()
    last_page = LIST.replace(b'<resumptionToken cursor="0" completeListSize="58011">726959|1001</resumptionToken>', b"")
    pages = iter([LIST, last_page])
    srv.routes["/oai"] = lambda headers: (200, {"Content-Type": "text/xml"}, next(pages))
    papers, statuses, backfilled = _backfill(srv, tmp_path, day)
    oai_paths = [p for p, _ in srv.requests if p.startswith("/oai")]
    assert oai_paths[0] == list_records_url("/oai", "cs", day) and "resumptionToken=726959%7C1001" in oai_paths[1]
    assert len(oai_paths) == 2 and backfilled and statuses[-1].source == "arxiv-oai"
    assert papers and all("nucl-th" in p.categories for p in papers)
    assert len({p.arxiv_id for p in papers}) == len(papers)  # both pages list the same records: merged by id


def test_a_listing_still_going_at_the_page_cap_is_kept_and_marked_truncated(tmp_path):
    day = dt.date(2026, 4, 30)
    srv = Server()
    srv.routes["/oai"] = (200, {"Content-Type": "text/xml"}, LIST)  # every page hands on a resumption token
    papers, statuses, _ = _backfill(srv, tmp_path, day)
    assert srv.hits(list_records_url("/oai", "cs", day)) == 1 and len(srv.requests) == 1 + MAX_OAI_PAGES
    assert papers and statuses[-1].state == "truncated"
    assert statuses[-1].reason.endswith(f"stopped after {MAX_OAI_PAGES} pages, with more records left")
