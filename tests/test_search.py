"""Search across the archive (digest.render.search): a Pagefind bundle per year, the search page
merging them, and the search box of the day pages, in Chromium under `digest serve`.

The site has two days in two years: 2025-12-31 is the demo snapshot replayed under that date, and
2026-04-30 the demo day itself, which lists the earlier day's papers as covered on that day; so a
paper of 2025-12-31 is written up on that day only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from chromium import axe_violations, open_page
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, build_args
from fake_llm import FakeLLM
from safe_html import assert_safe_html

from digest.render import html
from digest.render.html import paper_anchor
from digest.render.search import SearchIndexError, bundle_path, index_site, indexed_years
from digest.render.site import load_digests

EARLIER = "2025-12-31"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Two built days in two years, each year indexed as its day was published."""
    from digest.cli import main

    tmp = tmp_path_factory.mktemp("search")
    snapshot = tmp / "snapshot"
    shutil.copytree(DEMO_SNAPSHOT, snapshot)
    shutil.copytree(snapshot / DEMO_DATE, snapshot / EARLIER)  # the demo day's responses, replayed under EARLIER
    site, data = tmp / "site", tmp / "data"
    with FakeLLM() as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_BASE_URL", server.base_url)
        mp.setenv("OPENAI_API_KEY", "test-key")
        mp.delenv("DIGEST_MODEL", raising=False)
        for date in (EARLIER, DEMO_DATE):
            assert main(build_args(output=site, data=data, snapshot=snapshot, date=date, config=DEMO_CONFIG)) in (0, 3)
            assert index_site(site, int(date[:4])) == [int(date[:4])]
    return site


@pytest.fixture(scope="module")
def served(site):
    """The site under `digest serve` on 127.0.0.1: its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "-q", "serve", "--output", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split(" on ")[1].split(" ")[0]  # printed once the port is bound
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _earlier_paper(site: Path):
    [earlier, later] = load_digests(site)
    written_later = {w.paper.arxiv_id for w in later.papers}
    # The longest title of those: the most words to tell its day from the other (Pagefind matches loosely).
    paper = max((w.paper for w in earlier.papers if w.paper.arxiv_id not in written_later), key=lambda p: len(p.title))
    assert paper.arxiv_id in {c.paper.arxiv_id for c in later.covered}  # the later day lists it, covered
    return paper


def _stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _results(page) -> list[list[str]]:
    """The links (href, text) of the search page's results and their sub-results, once they show."""
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
    return page.eval_on_selector_all(
        ".pagefind-ui__result a", "els => els.map(e => [e.getAttribute('href'), e.textContent.trim()])"
    )


def test_each_year_has_its_bundle_and_a_day_reindexes_only_its_year(site):
    assert indexed_years(site) == [2026, 2025]
    page = (site / "search.html").read_text()
    assert page.index('data-bundles="pagefind/2026/ pagefind/2025/"') > 0  # newest first: its UI is loaded
    assert '<script src="pagefind/2026/pagefind-ui.js" defer>' in page and (site / "search.js").is_file()
    before = _stats(bundle_path(site, 2025))
    assert index_site(site, 2026) == [2026]  # the next day of 2026 is published
    assert _stats(bundle_path(site, 2025)) == before  # the other year is not touched
    assert not list((site / "pagefind").glob(".*"))  # no staging folder left


def test_the_search_page_allows_only_what_pagefind_needs(site):
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', (site / "search.html").read_text())
    assert csp is not None
    directives = dict(d.strip().split(" ", 1) for d in csp.group(1).replace("&#39;", "'").split(";"))
    assert directives["default-src"] == "'none'" and directives["form-action"] == "'none'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'" and "unsafe-inline" not in csp.group(1)
    assert directives["connect-src"] == directives["worker-src"] == "'self'"


def test_a_query_finds_a_paper_of_an_earlier_year(site, served, browser):
    paper = _earlier_paper(site)
    page, errors, requests = open_page(browser, f"{served}search.html?q={paper.title}")
    links = _results(page)
    assert links[0] == [f"/{EARLIER}/index.html", "December 31, 2025"]  # its day, from the 2025 bundle merged in
    anchor = f"/{EARLIER}/index.html#{paper_anchor(paper.arxiv_id)}--title"
    assert [href for href, text in links if text == paper.title] == [anchor]  # not on the day that covered it
    assert page.input_value(".pagefind-ui__search-input") == paper.title
    assert errors == [] and all(url.startswith(served) for url in requests)  # no CSP violation, nothing else
    page.click(f"a[href='{anchor}']")
    assert page.url == served.rstrip("/") + anchor
    top = page.evaluate(f"document.getElementById('{paper_anchor(paper.arxiv_id)}').getBoundingClientRect().top")
    assert -60 <= top < 900  # the paper is in view: its heading is just inside its card


# The text Pagefind indexed of each day page, through its JavaScript API (`data().content`).
INDEXED_TEXT = """async () => {
  const texts = {};
  for (const year of ["2025", "2026"]) {
    const pagefind = await import(`/pagefind/${year}/pagefind.js`);
    const search = await pagefind.search(null, {filters: {}});  // every page of the bundle
    for (const result of search.results) { const data = await result.data(); texts[data.url] = data.content; }
  }
  return texts;
}"""


def test_the_index_holds_the_write_ups_and_not_the_reviews(site, served, browser):
    [earlier, later] = load_digests(site)
    page, errors, _ = open_page(browser, f"{served}search.html")
    texts = page.evaluate(INDEXED_TEXT)
    assert sorted(texts) == [f"/{EARLIER}/index.html", f"/{DEMO_DATE}/index.html"]  # no paper page, no archive
    text = texts[f"/{EARLIER}/index.html"]
    written = earlier.papers[0]
    assert written.summary.content is not None
    assert written.paper.title in text and written.summary.content.summary.split(". ")[0] in text
    assert "Technical Soundness" not in text and "Research Directions" not in text and "Generated by" not in text
    assert later.covered and not any(c.paper.title in texts[f"/{DEMO_DATE}/index.html"] for c in later.covered)
    assert errors == []


def test_without_javascript_the_day_page_is_complete_and_its_search_box_a_plain_form(site, served, browser):
    day = site / DEMO_DATE / "index.html"
    query = load_digests(site)[1].papers[0].paper.title
    assert_safe_html(day.read_text())  # the form is the one the check allows, with form-action 'self'
    page = browser.new_page(java_script_enabled=False)
    page.goto(f"{served}{DEMO_DATE}/index.html")
    assert page.eval_on_selector_all("article.paper", "els => els.length") == 10
    assert page.get_attribute("form[role=search]", "action") == "../search.html"
    page.fill("form[role=search] input[name=q]", query)
    page.click("form[role=search] button")
    page.wait_for_url(f"{served}search.html?{urllib.parse.urlencode({'q': query})}")
    assert page.is_visible("noscript p") and "Search needs JavaScript" in page.text_content("main")
    scripted, errors, _ = open_page(browser, f"{served}{DEMO_DATE}/index.html")
    scripted.fill("form[role=search] input[name=q]", query)
    scripted.click("form[role=search] button")
    assert [f"/{DEMO_DATE}/index.html", "April 30, 2026"] in _results(scripted) and errors == []


def test_opened_as_a_file_the_search_page_says_it_needs_http(site, browser):
    page, errors, _ = open_page(browser, site / "search.html")
    assert page.is_visible("#search-offline") and "digest serve" in page.text_content("#search-offline")
    assert errors == []


def test_a_year_without_days_loses_its_bundle(site, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    shutil.rmtree(copy / EARLIER)
    assert index_site(copy, 2025) == []
    assert indexed_years(copy) == [2026] and 'data-bundles="pagefind/2026/"' in (copy / "search.html").read_text()


@pytest.mark.parametrize(
    ("binary", "message"),
    [("/bin/false", r"Pagefind failed to index 2026 \(exit code 1\)"), ("/nowhere/pagefind", "could not start")],
)
def test_a_failing_pagefind_is_a_clear_error_and_keeps_the_bundle(site, tmp_path, monkeypatch, binary, message):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    before, page = _stats(bundle_path(copy, 2026)), (copy / "search.html").read_text()
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", binary)  # the pagefind package's own override
    with pytest.raises(SearchIndexError, match=message):
        index_site(copy, 2026)
    assert _stats(bundle_path(copy, 2026)) == before and (copy / "search.html").read_text() == page
    assert not list((copy / "pagefind").glob(".*"))


def test_the_safety_check_accepts_only_the_search_box():
    head = (
        "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self'; "
        "base-uri 'none'; form-action 'self'\"></head><body>"
    )
    box = html.environment().get_template("searchbox.html.j2").render(root="../")
    assert_safe_html(head + box + "</body></html>")
    for bad in (
        box.replace("../search.html", "https://evil.example/"),
        box.replace('method="get"', 'method="post"'),
        box.replace('type="search"', 'type="password"'),
        box.replace('name="q"', 'name="q" formaction="https://evil.example/"'),
        '<input type="search" name="q">',  # outside the form
    ):
        with pytest.raises(AssertionError, match="forbidden|formaction|not an absolute"):
            assert_safe_html(head + bad + "</body></html>")
    with pytest.raises(AssertionError, match="form-action"):
        assert_safe_html(head.replace("'self'\"", '*"') + box + "</body></html>")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_search_page_with_its_results_has_no_accessibility_violations(site, served, browser, scheme):
    pytest.importorskip("axe_playwright_python.sync_playwright")
    paper = _earlier_paper(site)
    page, errors, _ = open_page(browser, f"{served}search.html?q={paper.title}", color_scheme=scheme)
    _results(page)
    assert axe_violations(page) == [] and errors == []
