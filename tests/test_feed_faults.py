"""Feeds that are broken, hostile or huge (fault catalogue F11–F13) on recorded real feeds and
generated ones: the text comes out right, nothing leaks, and sizes and counts stay capped."""

import contextlib
import datetime as dt
import time
import tracemalloc

import pytest
from conftest import DATA

from digest.config import FeedConfig
from digest.fetch.feeds import FeedError, in_window, parse_feed
from digest.models import Article
from digest.select.stories import canonical_url, merge_stories

NOW = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)
FEED = FeedConfig(name="Test", url="https://example.org/feed", kind="news")


def _rss(items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f'{prolog}<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def _item(
    title: str, link: str = "https://example.org/a", date: str = "Wed, 29 Apr 2026 10:00:00 GMT", guid: str = ""
) -> str:
    guid_tag = f"<guid>{guid}</guid>" if guid else ""
    return f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>{guid_tag}</item>"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("rssparser_uolNoticias_no_decl_latin1.rss", "simulações de 2º turno"),  # Latin-1 bytes, no declaration
        ("nodefeedparser_iconv_windows-1251_yandex.xml", "Оренбург"),  # declared windows-1251
        ("kagi_declared_utf16_actually_utf8.rss", None),  # declares UTF-16, is UTF-8
    ],
)
def test_real_feeds_in_odd_encodings_give_correct_text(fixture, expected):  # F11
    articles = parse_feed((DATA / fixture).read_bytes(), FEED, NOW)
    assert articles
    text = " ".join(a.title + " " + a.summary for a in articles)
    assert "\ufffd" not in text and "Ã" not in text  # no replacement characters, no mojibake
    if expected:
        assert expected in text
    text.encode("utf-8")  # writable as UTF-8


def test_control_characters_and_noncharacters_are_stripped():  # F11
    [escaped] = parse_feed(_rss(_item("Bad&#xC;title with controls &#xFFFE;end")), FEED, NOW)
    assert escaped.title == "Bad title with controls end"
    [raw] = parse_feed(_rss(_item("NUL\x00 and \x1f in the middle")), FEED, NOW)  # not even well-formed XML
    assert raw.title == "NUL and in the middle"


def test_billion_laughs_and_external_entities_neither_explode_nor_leak(tmp_path):  # F12
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]>'
        '<rss version="2.0"><channel><title>T</title><item><title>&l9;</title>'
        "<link>https://example.org/a</link></item></channel></rss>"
    ).encode()
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">'
        '<!ENTITY % pe SYSTEM "file:///etc/hostname"> %pe;]>'
        '<rss version="2.0"><channel><title>T</title><item><title>x &xxe; y</title>'
        "<link>https://example.org/b</link></item></channel></rss>"
    ).encode()
    tracemalloc.start()
    start = time.monotonic()
    try:
        results = []
        for body in (bomb, xxe):
            with contextlib.suppress(FeedError):
                results += parse_feed(body, FEED, NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 1.0 and peak < 50_000_000
    text = " ".join(a.title + a.summary for a in results)
    assert "TOP-SECRET-CANARY" not in text and "lollollol" not in text


def test_huge_and_strange_items_are_capped():  # F13
    items = "".join(_item(f"Story {i}", f"https://example.org/{i}") for i in range(5000))
    items += _item("T" * 1_000_000, "https://example.org/long")
    items += "<item><title>" + "<span>" * 2000 + "deep" + "</span>" * 2000 + "</title></item>"
    items += _item("Future story", "https://example.org/future", date="Sat, 01 Jan 2099 00:00:00 GMT")
    items += _item("Garbage date", "https://example.org/garbage", date="not a date at all")
    start = time.monotonic()
    articles = parse_feed(_rss(items), FEED, NOW)
    assert time.monotonic() - start < 5.0
    assert max(len(a.title) for a in articles) <= 300
    dated = {a.title: a.published for a in articles}
    assert dated["Future story"] == NOW and dated["Garbage date"] == NOW  # clamped / missing -> fetch time
    assert len(in_window(articles, NOW.date(), days=2, limit=10)) == 10  # per-feed cap


def _article(title: str, link: str, source: str = "A") -> Article:
    return Article(id=f"{source}{link}{title}", source=source, kind="news", title=title, link=link, published=NOW)


def test_the_same_story_from_several_feeds_is_one_story_listing_every_source():  # F13
    first = _article("OpenAI releases a new model", "https://www.example.com/story/?utm_source=rss#top")
    same_link = _article("A different headline", "http://example.com/story", "B")
    same_title = _article("OpenAI Releases a New Model!", "https://other.example/x", "C")
    other = _article("Something else", "https://example.com/story-2", "D")
    stories = merge_stories([first, same_link, same_title, other])
    assert sorted(s.sources for s in stories) == [["A", "B", "C"], ["D"]]
    assert canonical_url("https://Example.com/a/?b=2&utm_medium=x&a=1") == canonical_url("http://example.com/a?a=1&b=2")


def test_duplicate_guids_in_one_feed_keep_distinct_stories_apart():  # F13
    items = _item("One", "https://example.org/1", guid="same") + _item("Two", "https://example.org/2", guid="same")
    articles = parse_feed(_rss(items), FEED, NOW)
    assert sorted(s.lead.title for s in merge_stories(articles)) == ["One", "Two"]


def test_an_ill_formed_but_readable_feed_is_used_with_a_warning(caplog):
    broken = _rss(_item("Readable story") + "<item><title>Unclosed & broken</title>")
    articles = parse_feed(broken, FEED, NOW)
    assert [a.title for a in articles][:1] == ["Readable story"]
    assert any("not well-formed XML" in r.message and "Test" in r.message for r in caplog.records)
