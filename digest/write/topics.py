"""News topics: one planning call groups the articles, then per topic an analyst commentary
drafted by every configured drafting model and merged by the synthesizer.

The plan is checked, not trusted: every article ends in exactly one topic (unknown numbers are
dropped, repeats keep their first topic, leftovers go to "More AI news"). If the planner fails,
articles are grouped by source and the page says so. The commentary prompts number the topic's
articles ([1] is the first), and every paragraph must cite the ones it rests on.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace

from digest.llm.bounds import Shape
from digest.llm.client import LLMError
from digest.llm.prompts import load_prompt
from digest.llm.request import Verdict
from digest.models import Article, Commentary, Grouping, Provenance, Section, Topic, TopicPlan
from digest.write.citations import citation_problem
from digest.write.gate import gate_section
from digest.write.section import Ask, Desk, write_section

LEFTOVER_TITLE = "More AI news"
MAX_TOPICS = 6
SUMMARY_CHARS = 300  # of each article, in the commentary prompts


def normalize_plan(plan: TopicPlan, articles: list[Article]) -> list[Topic]:
    """Topics from a model's plan, with every article (1-based numbers) in exactly one topic."""
    taken: set[int] = set()
    topics: list[Topic] = []
    for planned in plan.topics:
        numbers = [n for n in dict.fromkeys(planned.article_ids) if 1 <= n <= len(articles) and n not in taken]
        taken.update(numbers)
        if numbers and planned.title.strip():
            topics.append(_topic(planned.title, planned.description, [articles[n - 1] for n in numbers]))
    leftover = [a for i, a in enumerate(articles, 1) if i not in taken]
    if leftover:
        topics.append(_topic(LEFTOVER_TITLE, "Stories that fit none of today's topics.", leftover))
    return topics


def group_by_source(articles: list[Article]) -> list[Topic]:
    """The fallback plan: one topic per source."""
    groups: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        groups[article.source].append(article)
    return [_topic(source, f"Latest from {source}.", items) for source, items in groups.items()]


def _topic(title: str, description: str, articles: list[Article]) -> Topic:
    pending = Section[Commentary](status="unavailable", error="not written yet")
    return Topic(title=title.strip(), description=description.strip(), articles=articles, commentary=pending)


async def plan_topics(articles: list[Article], desk: Desk) -> Grouping:
    """Group `articles` into topics; one topic per source when the model cannot."""
    if not articles:
        return Grouping(topics=[])
    numbered = [{"number": i, "title": a.title, "source": a.source} for i, a in enumerate(articles, 1)]
    max_topics = max(1, min(MAX_TOPICS, len(articles) // 3))
    try:
        done = await desk.llm.complete(
            desk.endpoint.models.topics,
            load_prompt("topic_plan"),
            TopicPlan,
            articles=numbered,
            min_topics=min(3, max_topics),
            max_topics=max_topics,
            date=desk.date.isoformat(),
        )
    except LLMError:
        return Grouping(topics=group_by_source(articles), status="unavailable")
    return Grouping(topics=normalize_plan(done.value, articles))


def article_text(article: Article) -> str:
    """An article as the commentary prompts show it, the text its citations are checked against."""
    published = article.published.date().isoformat() if article.published else ""
    return "\n".join((article.title, article.source, published, article.link, article.summary[:SUMMARY_CHARS]))


async def write_commentary(topic: Topic, desk: Desk) -> Section:
    """Drafts by every drafting model, merged by the synthesizer (a single draft stands alone),
    through the writing gate against the topic's articles, which every paragraph must cite."""
    # The prompt gives the digest's date too: a paragraph may name it whichever item it cites.
    items = {i: f"{article_text(a)}\n{desk.date.isoformat()}" for i, a in enumerate(topic.articles, 1)}

    def cited(content: Commentary) -> Verdict | None:
        return citation_problem(content.paragraphs, items)

    depth = desk.endpoint.depth.commentary
    values = {"topic": topic, "articles": [a.model_dump() for a in topic.articles], **desk.values(depth)}
    ask = Ask("articles", values, Shape.of(depth), cited)
    return gate_section(await _commentary(ask, desk), "\n".join(items.values()), (cited,))


async def _commentary(ask: Ask, desk: Desk) -> Section:
    cfg = desk.endpoint.commentary
    drafters = list(dict.fromkeys(cfg.drafters))
    drafts = await asyncio.gather(*(write_section(desk.llm, "commentary_draft", m, Commentary, ask) for m in drafters))
    good = [d for d in drafts if d.status == "ok"]
    if len(good) <= 1:
        return good[0] if good else drafts[0]
    texts = [d.content.markdown for d in good if d.content is not None]
    synthesis = replace(ask, values={**ask.values, "drafts": texts})
    merged = await write_section(desk.llm, "commentary_synthesis", cfg.synthesizer, Commentary, synthesis)
    written = merged.provenance  # write_section gives every section its provenance
    if merged.status != "ok" or written is None:  # keep the first draft rather than lose the section
        return good[0]
    authors = [m for d in good if d.provenance is not None for m in d.provenance.models] + [cfg.synthesizer]
    prov: Provenance = written.model_copy(update={"models": list(dict.fromkeys(authors))})
    return merged.model_copy(update={"provenance": prov})
