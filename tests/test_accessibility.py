"""WCAG 2.1 A and AA in Chromium: axe-core finds no violation on the day page (with "For you", the
whole-day list, MathML and the search box), a paper page and the archive, in the light and the dark
scheme; the search page is checked with its results in tests/test_search.py."""

import pytest
from chromium import axe_violations, open_page

pytest.importorskip("axe_playwright_python.sync_playwright")


def _violations(browser, path, scheme) -> list[str]:
    page, errors, _ = open_page(browser, path, color_scheme=scheme)
    found = axe_violations(page)
    page.close()
    assert not errors, errors
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_day_page_paper_page_and_archive_have_no_violations(demo_page, browser, scheme):
    site = demo_page.parent.parent
    paper = sorted((demo_page.parent / "papers").glob("*.html"))[0]
    for path in (demo_page, paper, site / "index.html"):
        assert _violations(browser, path, scheme) == [], path.relative_to(site)


def test_axe_runs_under_the_pages_content_security_policy(demo_page, browser):
    # The same page with an unlabelled text box and no language: axe must see both.
    html = demo_page.read_text(encoding="utf-8").replace('<html lang="en"', "<html", 1)
    html = html.replace("</main>", '<input type="text"></main>', 1)
    broken = demo_page.with_name("broken.html")
    broken.write_text(html, encoding="utf-8")
    found = " ".join(_violations(browser, broken, "light"))
    assert "html-has-lang" in found and "label" in found
