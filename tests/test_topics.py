"""News topics on the demo day's real recorded feeds: stories clustered deterministically, the model
only naming them; a name that is an outlet's, another topic's or missing gives way to the keywords."""

import datetime as dt
import json

import pytest
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, Page, build_args, demo_config

from digest.cli import main
from digest.config import load_config
from digest.fetch.feeds import fetch_news
from digest.fetch.sources import ReplaySource
from digest.fetch.store import SnapshotStore
from digest.models import TopicName, TopicNames
from digest.select.clusters import keyword_title
from digest.select.news import stories_of
from digest.write.topics import LEFTOVER_TITLE, named_topics

CONFIG = load_config(DEMO_CONFIG)


@pytest.fixture(scope="module")
def clusters():
    day = dt.date.fromisoformat(DEMO_DATE)
    articles, _ = fetch_news(CONFIG.news, day, ReplaySource(SnapshotStore(DEMO_SNAPSHOT, day)))
    return stories_of(articles, CONFIG.news)


def _names(*titles: str) -> TopicNames:
    return TopicNames(topics=[TopicName(number=n, title=t, description=f"About {t}.") for n, t in enumerate(titles, 1)])


def test_the_demo_day_has_three_topics_and_every_story_in_one(clusters):
    stories = [s for c in clusters for s in c.stories]
    assert len(clusters) >= 3 and len(stories) >= 12
    leads = [s.lead.id for s in stories]
    assert len(leads) == len(set(leads))  # no story in two topics
    catch_all = sum(len(c.stories) for c in clusters if c.catch_all)
    assert catch_all <= 0.2 * len(stories)


def test_model_names_are_used_and_an_outlet_or_a_repeated_name_gives_way_to_keywords(clusters):
    outlet = clusters[0].stories[0].lead.source  # e.g. "Anthropic News": a source, not a topic
    topics = named_topics(_names(outlet, "Open models", "open MODELS  "), clusters[:3])
    assert topics[0].title == keyword_title(clusters[0]) != outlet
    assert topics[1].title == "Open models" and topics[1].description == "About Open models."
    assert topics[2].title == keyword_title(clusters[2])  # the same name twice: the second is refused
    assert [len(t.articles) for t in topics] == [len(c.stories) for c in clusters[:3]]


def test_a_number_the_model_skips_is_titled_by_keywords_and_the_catch_all_keeps_its_name(clusters):
    catch_all = clusters[0].model_copy(update={"catch_all": True})
    topics = named_topics(_names("Chips and power"), [clusters[1], catch_all])
    assert topics[0].title == "Chips and power"
    assert topics[1].title == LEFTOVER_TITLE


def test_the_model_only_names_and_a_failed_naming_call_titles_by_keywords(fake_llm, tmp_path):
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    topics: namer\n")
    fake_llm.behaviour["namer"] = "garbage"
    assert main(build_args(output=tmp_path / "site", config=config)) == 3
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    titles = [t["title"] for t in digest["topics"]]
    sources = {a["source"] for t in digest["topics"] for a in t["articles"]}
    assert len(titles) >= 3 and len(set(titles)) == len(titles) and not set(titles) & sources
    assert digest["topic_plan_status"] == "unavailable"
    page = Page((tmp_path / "site" / DEMO_DATE / "index.html").read_text())
    assert "could not name today's topics, so each is titled by its keywords" in page.plain
    report = json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())
    assert any(f.startswith("topic names: unavailable") for f in report["failures"])
    naming = [r for r in fake_llm.requests if r["model"] == "namer"]
    assert naming and "article_ids" not in json.dumps(naming[0]["response_format"])  # names only, no grouping


def test_a_story_shows_once_with_the_outlets_that_also_covered_it_and_its_discussion(fake_llm, tmp_path):
    site = tmp_path / "site"
    assert main(build_args(output=site)) == 0
    stored = site / DEMO_DATE / "digest.json"
    data = json.loads(stored.read_text())
    stories = data["digest"]["topics"][0]["articles"]
    lead = stories[0]
    lead["also"] = [{"source": "Example Wire", "title": "Same event, other words", "link": "https://wire.example/x"}]
    lead["discussion"] = {
        "source": "Hacker News",
        "title": lead["title"],
        "link": "https://news.ycombinator.com/item?id=1",
    }
    stored.write_text(json.dumps(data))
    assert main(["render", "--date", DEMO_DATE, "--output", str(site), "--config", str(DEMO_CONFIG)]) == 0
    html = (site / DEMO_DATE / "index.html").read_text()
    assert html.count(lead["title"]) >= 1 and html.count('href="https://wire.example/x"') == 1
    assert 'Also covered by: <a href="https://wire.example/x"' in html
    assert (
        '<a href="https://news.ycombinator.com/item?id=1" rel="noopener noreferrer">Discussion on Hacker News</a>'
        in html
    )
    assert f"{len(stories)} stories from {len(stories) + 1} reports" in Page(html).plain


def test_commentary_prompts_name_every_outlet_of_a_story_and_ask_to_keep_disagreement(fake_llm, tmp_path, monkeypatch):
    from digest.select import stories

    real = stories.as_article

    def covered(story):  # the demo day's feeds report no event twice: give each lead a second report
        article = real(story)
        wire = stories.Coverage(source="Example Wire", title=f"Also: {article.title}", link="https://wire.example/a")
        return article.model_copy(update={"also": [wire]})

    monkeypatch.setattr("digest.write.topics.as_article", covered)
    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text() + "llm:\n  commentary:\n    drafters: [d-1, d-2]\n    synthesizer: s-1\n"
    )
    assert main(build_args(output=tmp_path / "site", config=config)) == 0
    drafts = [r for r in fake_llm.requests if r["model"] == "d-1"]
    synthesis = [r for r in fake_llm.requests if r["model"] == "s-1" and "<drafts>" in r["messages"][-1]["content"]]
    assert drafts and synthesis
    assert all("also reported by Example Wire" in r["messages"][-1]["content"] for r in drafts + synthesis)
    assert all("say that the analysts disagree" in r["messages"][-1]["content"] for r in synthesis)


def test_an_empty_list_of_names_is_a_failed_naming_and_keyword_titles_keep_the_stories_spelling(fake_llm, tmp_path):
    fake_llm.behaviour["namer"] = 'raw:{"topics": []}'  # what the embedded model answered on the demo day
    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "llm:\n  models:\n    topics: namer\n")
    assert main(build_args(output=tmp_path / "site", config=config)) == 3
    digest = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    assert digest["topic_plan_status"] == "unavailable" and not any(t["named"] for t in digest["topics"])
    words = [w for t in digest["topics"] for w in t["title"].replace(" and ", ", ").split(", ")]
    assert "AI" in words or "OpenAI" in words or "GPT" in words  # as the stories write them, not "Ai"
    assert not [w for w in words if w[:1].islower()]
