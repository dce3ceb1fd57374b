"""WCAG 2.1 A and AA in Chromium: axe-core (the engine's own build, shipped in axe-playwright-python)
finds no violation on the day page, a paper page and the archive, in the light and the dark scheme."""

import pytest
from chromium import open_page

AXE = pytest.importorskip("axe_playwright_python.sync_playwright")
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(browser, path, scheme) -> list[str]:
    page, errors, _ = open_page(browser, path, color_scheme=scheme)
    for details in page.locator("details").all():  # the folded reviews and lists are checked open too
        details.evaluate("d => d.open = true")
    results = AXE.Axe().run(page, options=WCAG_21_AA)
    page.close()
    assert not errors, errors
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results.response["violations"]
    ]


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
