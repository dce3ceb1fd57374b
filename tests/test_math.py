"""TeX in titles, abstracts and model Markdown rendered as sanitized MathML (digest.render.math)."""

import datetime as dt
import re

import pytest
from chromium import open_page
from conftest import DEMO_SNAPSHOT
from safe_html import assert_safe_html
from test_render import _digest, _section, _writeup

from digest import models as m
from digest.fetch.arxiv_parse import parse_api
from digest.fetch.store import SnapshotStore
from digest.render.html import render_markdown, render_page, render_paper_page
from digest.render.math import render_tex

DEMO_PAPERS = parse_api(SnapshotStore(DEMO_SNAPSHOT, dt.date(2026, 4, 30)).load("arxiv-api").body)


@pytest.mark.parametrize("paper", [p for p in DEMO_PAPERS if "$" in p.title + p.summary], ids=lambda p: p.arxiv_id)
def test_the_demo_days_tex_is_mathml(paper):
    for text in (paper.title, paper.summary):
        if "$" in text:
            html = str(render_tex(text))
            assert "<math" in html and "$" not in html, html


def test_the_demo_title_keeps_its_source_for_the_filter():
    [paper] = [p for p in DEMO_PAPERS if p.arxiv_id == "2604.26926"]
    html = str(render_tex(paper.title))
    assert '<annotation encoding="application/x-tex">\\ln\\ln T</annotation>' in html
    assert html.startswith("A Note on How to Remove the <math") and html.endswith("</math> Term from the Squint Bound")


@pytest.mark.parametrize("text", ["It costs $5 and $10.", "From $ 3 to $ 4", "A \\$ sign and $x $"])
def test_dollar_amounts_stay_text(text):
    assert "<math" not in render_tex(text)


def test_a_formula_that_does_not_convert_stays_its_source():
    assert str(render_tex("Bound $\\frac{1}{$ & more")) == "Bound $\\frac{1}{$ &amp; more"


def test_markdown_emphasis_inside_math_is_not_applied():
    html = str(render_markdown("Take $a_1 * b_2 * c_3$ and \\(x_i + y_i\\), then _real_ emphasis `$k$`."))
    assert "<em>" in html and html.count("<em>") == 1 and "<em>real</em>" in html
    assert html.count("<math") == 2 and "<msub><mi>a</mi><mn>1</mn></msub>" in html
    assert "<code>$k$</code>" in html


HOSTILE = (
    "$\\text{<script>alert(1)</script>}$",
    "$\\href{javascript:alert(1)}{x}$",
    "$x$<img src=x onerror=1>",
    "$\\text{<svg onload=alert(1)>}$",
)


def test_hostile_tex_leaves_no_script_link_or_handler():
    writeups = [_writeup(i) for i in range(1, len(HOSTILE) + 1)]
    writeups = [
        w.model_copy(
            update={
                "paper": w.paper.model_copy(update={"title": tex, "summary": tex}),
                "summary": _section(w.summary.content, status="unverified", error="test"),
            }
        )
        for w, tex in zip(writeups, HOSTILE, strict=True)
    ]
    overview = _section(m.Overview(paragraphs=[" ".join(HOSTILE)]))
    day = _digest(writeups, [], overview)
    for page in [render_page(day), *(render_paper_page(day, w) for w in writeups)]:
        assert_safe_html(page)
        assert "<math" in page and "<script>alert" not in page and "<svg" not in page
        assert not re.search(r"<[^>]*\s(href=\"javascript|on\w+=)", page, re.I)


def test_chromium_shows_no_raw_tex_in_a_title(demo_page, browser):
    page, errors, _ = open_page(browser, demo_page)
    titles = page.locator("article.paper h3, #contents ol a").all_inner_texts()
    assert any("Squint" in t for t in titles)
    assert [t for t in titles if "$" in t] == [] and errors == []
    assert page.locator("article.paper h3 math").count() >= 1
