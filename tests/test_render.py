"""Render safety: URLs, model Markdown, escaping of feed text."""

import pytest

from digest.render.html import paper_anchor, render_markdown, safe_url, slugify


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
