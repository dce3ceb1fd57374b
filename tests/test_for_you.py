"""The reader profile on the demo day: "For you" opens the page with the closest papers and why each
is there, for-you.xml carries them, and a profile that is empty or broken says so."""

import json
import re

import feedparser
from conftest import DEMO_CONFIG, DEMO_DATE, Page, build_args, demo_config

from digest.cli import main
from digest.render.html import paper_page


def test_for_you_opens_the_page_with_the_closest_papers_and_why(fake_llm, tmp_path):
    site = tmp_path / "site"
    assert main(build_args(output=site)) == 0
    digest = json.loads((site / DEMO_DATE / "digest.json").read_text())["digest"]
    assert digest["ranking"] == "the 10 closest to your reader profile of 20"
    scored = sorted(digest["papers"], key=lambda w: -w["relevance"]["relevance"])
    assert all(w["relevance"]["why"] for w in scored) and all(entry["relevance"] for entry in digest["listed"])
    chosen = {w["paper"]["arxiv_id"] for w in digest["papers"]}
    left_out = [
        entry["relevance"]["relevance"] for entry in digest["listed"] if entry["paper"]["arxiv_id"] not in chosen
    ]
    assert min(w["relevance"]["relevance"] for w in scored) >= max(left_out)  # the closest were written up
    html = (site / DEMO_DATE / "index.html").read_text()
    page = Page(html)
    assert page.ids.index("for-you") < page.ids.index("today")  # it opens the page
    section = html[html.index('id="for-you"') : html.index('id="today"')]
    linked = re.findall(r'href="#paper-([0-9-]+)"', section)
    assert linked == [w["paper"]["arxiv_id"].replace(".", "-") for w in scored]  # closest first
    assert scored[0]["relevance"]["why"] in page.plain
    # Each paper's place among the day's 20 candidates, closest first: the top one is the top 5%.
    shown = [int(n) for n in re.findall(r'class="relevance"[^>]*>top (\d+)%<', section)]
    assert shown[0] == 5 and shown == sorted(shown) and len(set(shown)) >= 5
    feed = feedparser.parse((site / "for-you.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == 10
    assert all(e.summary.startswith("Why: ") for e in feed.entries)
    links = {e.link for e in feed.entries}
    assert links == {f"{DEMO_DATE}/{paper_page(w['paper']['arxiv_id'])}" for w in scored}


def test_an_empty_profile_falls_back_to_triage_and_the_page_says_so(fake_llm, tmp_path):
    text = DEMO_CONFIG.read_text()
    text = text[: text.index("reader:")]  # rank: reader, and no profile
    config = demo_config(tmp_path, text)
    assert main(build_args(output=tmp_path / "site", config=config)) == 0
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    assert "as scored by gpt-4o-mini (the reader profile is empty" in digest["ranking"]
    assert any("Score every paper" in r["messages"][-1]["content"] for r in fake_llm.requests)  # triage ran
    page = Page((tmp_path / "site" / DEMO_DATE / "index.html").read_text())
    assert "the reader profile is empty" in page.plain and "for-you" not in page.ids
    assert not (tmp_path / "site" / "for-you.xml").exists()


def test_a_malformed_library_stops_the_build_naming_file_and_line(fake_llm, tmp_path, capsys):
    config = demo_config(tmp_path, DEMO_CONFIG.read_text())
    (tmp_path / "library.bib").write_text("@misc{ok,\n  title = {Fine},\n}\n\n@misc{broken,\n  title = {Unclosed\n")
    assert main(build_args(output=tmp_path / "site", config=config)) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "library.bib:5" in err and not fake_llm.requests  # before any request, the preflight included


def test_rerank_lets_the_triage_model_score_the_closest_against_the_interests(fake_llm, tmp_path):
    config = demo_config(tmp_path, DEMO_CONFIG.read_text().replace("reader:\n", "reader:\n  rerank: true\n"))
    assert main(build_args(output=tmp_path / "site", config=config)) == 0
    asked = [
        r for r in fake_llm.requests if "The reader cares about: agents; reasoning" in r["messages"][-1]["content"]
    ]
    assert len(asked) == 1  # the 20 closest (twice papers.max) in one batch of 25
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    # The fake rates titles with "agent" 9 and the others 3, by number: each why says what it gave.
    for entry in digest["listed"]:
        score = 9 if "agent" in entry["paper"]["title"].lower() else 3
        assert entry["relevance"]["why"].endswith(f"gpt-4o-mini rates it {score}/10 for your interests"), entry
    agents = [e for e in digest["listed"] if "agent" in e["paper"]["title"].lower()]
    assert agents and all(e["written_up"] for e in agents)  # rated 9, they are among the 10 written up
