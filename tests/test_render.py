"""Rendering: URLs, model Markdown and its sanitizing, review points with their evidence, citations,
unverified sections; on pages rendered from digests built here (no build, no model)."""

import datetime as dt
import re

import pytest
from conftest import Page
from safe_html import assert_safe_html

from digest import models as m
from digest.render.html import (
    article_anchors,
    paper_anchor,
    render_markdown,
    render_page,
    render_paper_page,
    review_markdown,
    safe_url,
    slugify,
    topic_anchors,
)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "//evil.example/x",
        "/relative",
        "jav%61script:alert(1)",
        "file:///etc/passwd",
        "",
        None,
    ],
)
def test_unsafe_urls_are_dropped(url):
    assert safe_url(url) == ""


def test_http_urls_pass():
    assert safe_url(" https://arxiv.org/abs/2604.21935 ") == "https://arxiv.org/abs/2604.21935"


def test_model_markdown_is_sanitized():
    html = str(
        render_markdown(
            "**Bold** <script>alert(1)</script> ![x](https://img.example/a.png) [a](javascript:alert(1)) "
            "[b](https://ok.example) <think>secret plan</think> <img src=x onerror=alert(1)>"
        )
    )
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "secret plan" not in html and "onerror" not in html
    assert "<a rel" not in html  # refused links become plain text
    assert 'href="https://ok.example"' in html and 'rel="noopener noreferrer nofollow ugc"' in html


def test_anchors_are_stable_slugs():
    assert paper_anchor("2604.21935") == "paper-2604-21935"
    assert paper_anchor("astro-ph/0601001") == "paper-astro-ph-0601001"
    assert slugify("<b>Frontier Models & Tools</b>") == "b-frontier-models-tools-b"
    assert slugify("!!!") == "section"


def test_a_commentary_links_only_to_its_own_articles():  # L13 d
    own = "https://openai.com/index/a-real-article/"
    html = str(
        render_markdown(
            f"As [the lab said]({own}), and as [2501.99999](https://arxiv.org/abs/2501.99999) and "
            "[a blog](https://evil.example/track) claim.",
            links=[own, "https://other.example/b"],
        )
    )
    assert f'href="{own}"' in html and html.count("<a ") == 1
    assert "2501.99999" in html and "a blog" in html  # the text stays, unlinked
    assert "evil.example" not in html and "arxiv.org/abs/2501.99999" not in html


def test_the_safety_check_accepts_only_the_packaged_filter_script():
    from safe_html import assert_safe_html

    from digest.render.html import _asset

    head = (
        "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'\"></head><body>"
    )
    assert_safe_html(head + f"<script>{_asset('filter.js')}</script></body></html>")
    for bad in (
        "<script>alert(1)</script>",
        f"<script>{_asset('filter.js')} alert(1)</script>",
        '<script src="https://evil.example/x.js"></script>',
    ):
        with pytest.raises(AssertionError, match="script"):
            assert_safe_html(head + bad + "</body></html>")


# --- Review points, citations and unverified sections, on pages rendered from a Digest built here ---

NOW = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)
CITATION = r'<a href="#([^"]*)">\d+</a>'  # a citation's link: its number, to an anchor of the page
QUOTE = "We train on 1.2M pairs & report a 12% gain [1]."


def _section(content, status="ok", error=None, input_kind="abstract") -> m.Section:
    provenance = m.Provenance(models=["model-a"], prompt="task@1", input_kind=input_kind)
    return m.Section(status=status, content=content, provenance=provenance, error=error)


def _point(title: str, evidence: str = "", found: bool | None = None, text: str = "") -> m.ReviewPoint:
    return m.ReviewPoint(
        title=title, text=text or f"The point called {title or 'nothing'}.", evidence=evidence, evidence_found=found
    )


def _writeup(i: int, review: m.PaperReview | None = None) -> m.PaperWriteup:
    arxiv_id = f"2604.{i:05d}"
    paper = m.Paper(
        arxiv_id=arxiv_id, title=f"Paper {i}", summary="An abstract of the paper.", **m.arxiv_links(arxiv_id)
    )
    echo = {"arxiv_id": arxiv_id, "title": paper.title}
    review = review or m.PaperReview(**echo, **{part: [_point(f"{part} point")] for part in m.REVIEW_PARTS})
    directions = {f: ["A direction to take next."] for f in m.ResearchDirections.model_fields if f not in echo}
    return m.PaperWriteup(
        paper=paper,
        summary=_section(m.PaperSummary(**echo, summary="A summary for a general reader.")),
        review=_section(review),
        directions=_section(m.ResearchDirections(**echo, **directions)),
    )


def _topic(title: str, articles: int, commentary: m.Section) -> m.Topic:
    items = [
        m.Article(
            id=f"{title}-{n}",
            source="Feed",
            kind="news",
            title=f"{title} article {n}",
            link=f"https://news.example/{slugify(title)}/{n}",
        )
        for n in range(1, articles + 1)
    ]
    return m.Topic(title=title, description="What happened.", articles=items, commentary=commentary)


def _digest(papers: list[m.PaperWriteup], topics: list[m.Topic], overview: m.Section) -> m.Digest:
    return m.Digest(
        date=NOW.date(), generated_at=NOW, version="test", papers=papers, topics=topics, overview=overview, sources=[]
    )


def _cited(*paragraphs: str) -> m.Section:
    return _section(m.Commentary(paragraphs=list(paragraphs)))


def test_a_review_shows_each_part_numbered_with_its_points_and_their_evidence():
    echo = {"arxiv_id": "2604.00001", "title": "Paper 1"}
    parts = {part: [_point(f"Point {n}")] for n, part in enumerate(m.REVIEW_PARTS, 1)}
    parts["weaknesses"] = [
        _point("Benchmark bias", QUOTE, found=True),
        _point("Missing baseline?", "Our baseline is the 2019 model.", found=False),
        _point("", "", text="A point of a review written before points had titles and evidence."),
    ]
    writeup = _writeup(1, m.PaperReview(**echo, **parts))
    html = render_paper_page(_digest([writeup], [], _section(m.Overview(paragraphs=["x" * 20]))), writeup)
    assert_safe_html(html)
    plain = Page(html).plain
    headings = re.findall(r"<h4>(.*?)</h4>", html)
    assert headings[:6] == [
        "1. Summary of Content",
        "2. Weaknesses",
        "3. Technical Soundness",
        "4. Novelty and Significance",
        "5. Potential Limitations or Concerns",
        "6. Overall Evaluation",
    ]
    weaknesses = html.split("<h4>2. Weaknesses</h4>")[1].split("<h4>")[0]
    assert weaknesses.count("<li>") == 3 and weaknesses.lstrip().startswith("<ol>")
    assert "<strong>Benchmark bias:</strong> The point called Benchmark bias." in weaknesses
    assert "<strong>Missing baseline?</strong> The point" in weaknesses  # its own punctuation, no colon added
    assert Page(weaknesses).plain.count(QUOTE) == 1  # a review cites nothing: [1] stays text
    assert weaknesses.count('<blockquote class="evidence">') == 2
    found, missing, old = weaknesses.split("<li>")[1:]
    assert "quote not found" not in found and "<strong>" not in old and "<blockquote" not in old
    assert '<blockquote class="evidence">\n<p><span class="badge warn">quote not found</span> Our baseline' in missing
    assert plain.count("quote not found") == 1


def test_model_text_cannot_style_or_label_its_own_quotes():
    forged = '<blockquote class="evidence"><p>mine <span class="badge warn">quote not found</span></p></blockquote>'
    echo = {"arxiv_id": "2604.00001", "title": "Paper 1"}
    point = _point(
        "\ue000Title\ue001", "\ue000a real quote\ue001", found=True, text=f"> \ue000 a quote of mine\ue001\n\n{forged}"
    )
    html = str(review_markdown(m.PaperReview(**echo, **{part: [point] for part in m.REVIEW_PARTS})))
    assert html.count('<blockquote class="evidence">') == 6 and "quote not found" in html  # the text, unstyled
    assert '<span class="badge' not in html and "\ue000" not in html and "\ue001" not in html
    assert html.count("<p>a real quote</p>") == 6


def test_a_hostile_quote_is_sanitized_and_keeps_its_label():
    echo = {"arxiv_id": "2604.00001", "title": "Paper 1"}
    quote = "A [js](javascript:alert(1)) link, <b onclick=x()>bold</b> and <script>alert(1)</script> a script"
    point = _point("Hostile", quote, found=False)
    html = str(review_markdown(m.PaperReview(**echo, **{part: [point] for part in m.REVIEW_PARTS})))
    assert "javascript" not in html and "onclick" not in html and "<script" not in html and "alert" not in html
    label = '<blockquote class="evidence">\n<p><span class="badge warn">quote not found</span> A js link, bold and  a script</p>'
    assert html.count(label) == 6


def test_an_unclosed_code_fence_ends_with_its_point():
    echo = {"arxiv_id": "2604.00001", "title": "Paper 1"}
    parts = {
        part: [_point("Code", "a quote", text="Look at this code:\n```\nprint(1)"), _point("Next")]
        for part in m.REVIEW_PARTS
    }
    html = str(review_markdown(m.PaperReview(**echo, **parts)))
    assert len(re.findall(r"<h4>\d\. [^<]*</h4>", html)) == 6  # no heading swallowed by the fence
    assert html.count("<strong>Next:</strong>") == 6 and html.count("<pre><code>") == 6
    assert "\ue000" not in html  # the marker of the quote the fence took in is gone too


def test_topic_anchors_are_unique_even_when_a_title_looks_like_a_numbered_twin():
    anchors = topic_anchors(["Models", "Models", "Models 2", "!!!"])
    assert anchors == ["topic-models", "topic-models-2", "topic-models-2-2", "topic-section"]
    assert article_anchors("topic-models-2", 2) == ["topic-models-2--1", "topic-models-2--2"]


def test_citations_link_to_the_cited_articles_papers_and_topics():
    commentary = _cited(
        "Both labs shipped [1, 2], one quietly [1][2], all of them [1-3]; see also [9] and `x[1]`.",
        "A [link to the lab](https://news.example/models/1) and an [anchor](#paper-2604-00001) of its own.",
    )
    topics = [_topic("Models", 3, commentary), _topic("Models", 2, _cited("The second topic's first article [1]."))]
    overview = _section(m.Overview(paragraphs=["The first paper [1] and the second [2] meet the news [3] [4] [5]."]))
    digest = _digest([_writeup(1), _writeup(2)], topics, overview)
    html = render_page(digest)
    assert_safe_html(html)
    page = Page(html)
    assert len(page.ids) == len(set(page.ids))
    first, second = html.split('<article class="topic"')[1:]
    assert re.findall(CITATION, first) == [
        "topic-models--1",
        "topic-models--2",
        "topic-models--1",
        "topic-models--2",
        "topic-models--1",
        "topic-models--3",
    ]
    assert "[9]" in first and "<code>x[1]</code>" in first  # no such article; code stays code
    assert 'href="https://news.example/models/1"' in first and "#paper-2604-00001" not in first  # sanitizer's rule
    assert re.findall(CITATION, second) == ["topic-models-2--1"]
    today = html.split('<section id="today"')[1].split("</section>")[0]
    assert re.findall(r'<a href="#([^"]*)">(\d+)</a>', today) == [
        ("paper-2604-00001", "1"),
        ("paper-2604-00002", "2"),
        ("topic-models", "3"),
        ("topic-models-2", "4"),
    ]
    assert "[5]" in today
    targets = {href[1:] for href in page.hrefs if href.startswith("#")}
    assert targets <= set(page.ids)  # every citation lands on an item of the page


def test_unverified_commentary_and_overview_say_why_above_their_text():
    commentary = _section(
        m.Commentary(paragraphs=["The analyst's view of the news [1]."]),
        "unverified",
        "cites article [7], which the topic does not have",
        "articles",
    )
    overview = _section(
        m.Overview(paragraphs=["Today's overview of papers and news."]),
        "unverified",
        "mentions 42%, a figure not in the digest",
        "digest",
    )
    html = render_page(_digest([_writeup(1)], [_topic("Models", 1, commentary)], overview))
    assert_safe_html(html)
    today = Page(html.split('<section id="today" class="overview">')[1].split("</section>")[0]).plain
    assert today.startswith(
        "Today in AI unverified Unverified: mentions 42%, a figure not in the digest. Today's overview"
    )
    # Page.plain spaces out text nodes: the linked citation reads "[ 1 ]".
    topic = Page(html.split("<h4>AI Analyst Commentary")[1].split("</article>")[0]).plain
    assert topic.startswith(
        "unverified Unverified: cites article [7], which the topic does not have. The analyst's view of the news [ 1 ]."
    )
