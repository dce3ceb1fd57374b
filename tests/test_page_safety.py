"""The page cannot be turned against its reader: fault catalogue R1-R9 on full builds and renders."""

import datetime as dt
import re
from pathlib import Path

from conftest import DEMO_DATE, Page, build_args
from safe_html import assert_safe_html

from digest import models as m
from digest.cli import main
from digest.render.html import render_page, render_paper_page
from digest.render.site import render_archive

CANARY = "\"'><script>canary()</script><img src=x onerror=canary()>"
TEMPLATES = Path(__file__).parent.parent / "digest" / "templates"
# What the hostile model and feed items try to smuggle in; none of it may reach a page.
NEUTRALIZED = (
    "<iframe",
    "<details open",
    "ontoggle",
    "<base",
    'http-equiv="refresh"',
    "<style>body",
    "attacker.example",
    "data:text",
    'href="/admin"',
    'href="//evil',
    "hidden plan",
    "__pwned=1",
)


def test_hostile_build_holds_every_invariant(hostile_build, tmp_path):  # R3 (feed HTML feedparser lets through)
    assert_safe_html(hostile_build)  # R1-R4, R8, R9: no active markup, only http(s) links, CSP first
    paper_pages = list((tmp_path / "hostile-site" / DEMO_DATE / "papers").glob("*.html"))
    assert paper_pages
    for path in paper_pages:  # the hostile reviews unfolded on the papers' own pages
        html = path.read_text()
        assert_safe_html(html)
        assert "<script" not in html and not [bad for bad in NEUTRALIZED if bad in html]


def test_markup_in_text_fields_is_shown_as_text(hostile_build):  # R1
    assert "<svg" not in hostile_build and "<img" not in hostile_build
    assert "&lt;img src=x onerror=alert(1)&gt; &#34;&gt;&lt;svg onload=alert(1)&gt;" in hostile_build
    assert '<img src=x onerror=alert(1)> "><svg onload=alert(1)>' in Page(hostile_build).plain


def test_dangerous_link_schemes_leave_no_link(hostile_build):  # R2
    assert "javascript:" not in hostile_build.lower().replace(" ", "")
    assert '<span class="title" dir="auto">Vbscript and data links</span>' in hostile_build  # kept, unlinked


def test_model_markdown_attacks_are_neutralized(hostile_build):  # R4, R9
    for bad in NEUTRALIZED:
        assert bad not in hostile_build, bad
    assert "<strong>fine</strong>" in hostile_build


def test_broken_structure_keeps_the_page_skeleton(hostile_build, fake_llm, tmp_path):  # R5
    def skeleton(html):
        return re.findall(r'<(?:section|nav|main|header|footer)\b[^>]*?(?:id="([^"]*)")?', html)

    main(build_args(output=tmp_path / "plain"))
    plain = (tmp_path / "plain" / DEMO_DATE / "index.html").read_text()
    assert skeleton(hostile_build) == skeleton(plain)
    assert hostile_build.count("</main>") == 1 and hostile_build.count("</section>") == plain.count("</section>")


def test_bidi_override_cannot_reorder_the_page(hostile_build):  # R7
    # The override is removed as the feed is read; what is left is isolated (dir="auto") in its element.
    assert re.search(r'<span class="title" dir="auto">[^<\u202e]*evil title</span>', hostile_build)
    assert "\u202e" not in hostile_build
    assert "overflow-wrap:anywhere" in hostile_build


def _canary_writeups(c: str, prov: m.Provenance) -> list[m.PaperWriteup]:
    """A paper written up in full and one whose sections are all unavailable, every text field `c`."""
    paper = m.Paper(
        arxiv_id="2604.00001",
        title=c,
        authors=[c, c],
        summary=c,
        categories=[c],
        primary_category=c,
        announce_type="cross",
        abs_url="https://arxiv.org/abs/2604.00001",
        pdf_url=c,
        comment=c,
    )
    directions = {f: c if f in ("arxiv_id", "title") else [c] for f in m.ResearchDirections.model_fields}
    writeup = m.PaperWriteup(
        paper=paper,
        summary=m.Section(status="ok", content=m.PaperSummary(arxiv_id=c, title=c, summary=c), provenance=prov),
        review=m.Section(
            status="ok",
            content=m.PaperReview(
                arxiv_id=c,
                title=c,
                **{part: [m.ReviewPoint(title=c, text=c, evidence=c, evidence_found=False)] for part in m.REVIEW_PARTS},
            ),
            provenance=prov,
        ),
        directions=m.Section(status="ok", content=m.ResearchDirections(**directions), provenance=prov),
    )
    unavailable = m.PaperWriteup(
        paper=paper.model_copy(update={"arxiv_id": "2604.00002"}),
        summary=m.Section(status="unavailable", error=c, provenance=prov),
        review=m.Section(status="unavailable", error=c),
        directions=m.Section(status="unavailable", error=c),
    )
    return [writeup, unavailable]


def _canary_digest() -> m.Digest:
    """A digest whose every text field holds the canary payload."""
    c = CANARY
    prov = m.Provenance(models=[c], prompt=c, input_kind="abstract")

    def ok(content):
        return m.Section(status="ok", content=content, provenance=prov)

    article = m.Article(
        id=c, source=c, kind="news", title=c, link=c, summary=c, published=dt.datetime(2026, 4, 30, tzinfo=dt.UTC)
    )
    topic = m.Topic(title=c, description=c, articles=[article], commentary=ok(m.Commentary(paragraphs=[c, c + " [1]"])))
    return m.Digest(
        date=dt.date(2026, 4, 30),
        generated_at=dt.datetime(2026, 4, 30, tzinfo=dt.UTC),
        version=c,
        papers=_canary_writeups(c, prov),
        topics=[topic, topic],
        overview=ok(m.Overview(paragraphs=[c, c + " [1] [3]"])),
        topic_plan_status="unavailable",
        backfilled=True,
        sources=[m.SourceStatus(source=c, url=c, state="failed", reason=c)],
    )


def test_canary_in_every_template_variable_never_runs():  # R6
    digest = _canary_digest()
    pages = [
        render_page(digest, dt.date(2026, 4, 29), dt.date(2026, 5, 1)),
        render_page(digest, inline_max=0),
        render_archive([digest]),
    ] + [render_paper_page(digest, w) for w in digest.papers]
    for html in pages:
        assert html.count("<script") <= 1 and "<img" not in html  # at most the filter, checked by hash below
        assert "canary()</script>" not in html.replace("&lt;/script&gt;", "")
        assert_safe_html(html)
    ids = Page(render_page(digest)).ids
    assert all(re.fullmatch(r"[a-z0-9-]{1,70}", i) for i in ids), ids


def test_templates_never_bypass_autoescape():  # R6
    for template in TEMPLATES.glob("*.j2"):
        text = template.read_text()
        assert not re.search(r"\|\s*safe\b(?!_)", text) and "autoescape false" not in text, template.name


def test_csp_is_first_and_allows_only_our_stylesheet_and_filter(hostile_build):  # R8
    import base64
    import hashlib

    head = hostile_build.split("<head>", 1)[1].lstrip()
    assert head.startswith('<meta http-equiv="Content-Security-Policy"')
    csp = re.search(r'content="([^"]*)"', head).group(1).replace("&#39;", "'")
    assert "style-src 'sha256-" in csp and "unsafe-inline" not in csp
    [script] = re.findall(r"<script>(.*?)</script>", hostile_build, re.S)
    assert f"script-src 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'" in csp


def test_hidden_text_never_reaches_a_prompt_and_the_source_is_flagged(hostile_build, fake_llm):  # L11, L12
    prompts = " ".join(m["content"] for r in fake_llm.requests for m in r["messages"])
    assert "ignore previous instructions" not in prompts.lower()  # it sat in a display:none span
    assert hostile_build.count("contains instructions aimed at AI") == 1
