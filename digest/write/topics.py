"""News topics: the day's stories arrive clustered (digest.select.clusters); one call names the
clusters, then per topic an analyst commentary drafted by every configured drafting model and merged
by the synthesizer.

The model only names; it never decides which story goes where, so no story can be lost, repeated or
put in two topics. A name is refused when it is empty, the name of an outlet, or another topic's; a
topic without an accepted name is titled by its keywords, and when the naming call fails the page
says so. The commentary prompts number the topic's stories ([1] is the first), and every paragraph
must cite the ones it rests on.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from digest.llm.bounds import Shape
from digest.llm.client import LLMError
from digest.llm.prompts import load_prompt
from digest.llm.request import Verdict
from digest.models import Article, Commentary, Grouping, Provenance, Section, Topic, TopicNames
from digest.select.clusters import StoryCluster, keyword_title
from digest.select.stories import as_article
from digest.write.citations import citation_problem
from digest.write.gate import gate_section
from digest.write.section import Ask, Desk, write_section

LEFTOVER_TITLE = "More AI news"
LEFTOVER_DESCRIPTION = "Stories that fit none of today's topics."
SUMMARY_CHARS = 300  # of each article, in the commentary prompts
STORIES_SHOWN = 8  # of each cluster, in the naming prompt


def _topic(title: str, description: str, cluster: StoryCluster) -> Topic:
    pending = Section[Commentary](status="unavailable", error="not written yet")
    articles = [as_article(story) for story in cluster.stories]
    return Topic(title=title.strip(), description=description.strip(), articles=articles, commentary=pending)


def _keyword_topic(cluster: StoryCluster) -> Topic:
    if cluster.catch_all or not cluster.keywords:
        return _topic(LEFTOVER_TITLE, LEFTOVER_DESCRIPTION, cluster)
    topic = _topic(keyword_title(cluster), f"Stories about {', '.join(cluster.keywords)}.", cluster)
    return topic.model_copy(update={"named": False})


def named_topics(names: TopicNames, clusters: list[StoryCluster]) -> list[Topic]:
    """Topics for `clusters` (in order) with the model's `names` by cluster number (1-based) where
    they are usable: not empty, not an outlet's name, not a title already taken; the others by keywords."""
    offered = {n.number: n for n in reversed(names.topics)}  # the first answer for a number counts
    outlets = {a.source.casefold() for c in clusters for s in c.stories for a in s.articles}
    taken = {LEFTOVER_TITLE.casefold()}
    topics = []
    for number, cluster in enumerate(clusters, 1):
        name = offered.get(number)
        title = " ".join(name.title.split()) if name and not cluster.catch_all else ""
        if title and title.casefold() not in outlets | taken:
            topic = _topic(title, name.description if name else "", cluster)
        else:
            topic = _keyword_topic(cluster)
        taken.add(topic.title.casefold())
        topics.append(topic)
    return topics


async def name_topics(clusters: list[StoryCluster], desk: Desk) -> Grouping:
    """The day's `clusters` as topics, named by the topics model; titled by their keywords (and the
    grouping "unavailable", which the page says) when the naming call fails."""
    if not clusters:
        return Grouping(topics=[])
    shown = [
        {"number": i, "keywords": c.keywords, "stories": [s.lead.title for s in c.stories[:STORIES_SHOWN]]}
        for i, c in enumerate(clusters, 1)
        if not c.catch_all
    ]
    if not shown:
        return Grouping(topics=[_keyword_topic(c) for c in clusters])
    try:
        done = await desk.llm.complete(
            desk.endpoint.models.topics,
            load_prompt("topic_names"),
            TopicNames,
            topics=shown,
            date=desk.date.isoformat(),
        )
    except LLMError:
        return Grouping(topics=[_keyword_topic(c) for c in clusters], status="unavailable")
    topics = named_topics(done.value, clusters)
    # Not one usable name (a small model answering an empty list): as if the call had failed.
    unnamed = all(not t.named for t, c in zip(topics, clusters, strict=True) if not c.catch_all and c.keywords)
    return Grouping(topics=topics, status="unavailable" if unnamed else "ok")


def article_text(article: Article) -> str:
    """An article as the commentary prompts show it, the text its citations are checked against."""
    published = article.published.date().isoformat() if article.published else ""
    also = [f"{c.source}: {c.title} {c.link}" for c in article.also]  # a paragraph may name another outlet's report
    return "\n".join((article.title, article.source, published, article.link, article.summary[:SUMMARY_CHARS], *also))


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
