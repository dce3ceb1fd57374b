"""Small digests for the archive and feed tests: the demo day's papers, made-up topics and overview."""

import datetime as dt

from conftest import DEMO_DATE, DEMO_SNAPSHOT

from digest.fetch.arxiv_parse import parse_api
from digest.fetch.store import SnapshotStore
from digest.models import Article, Commentary, Digest, Overview, PaperWriteup, Section, SourceStatus, Topic

PAPERS = parse_api(SnapshotStore(DEMO_SNAPSHOT, dt.date.fromisoformat(DEMO_DATE)).load("arxiv-api").body)


def small_day(date: dt.date, papers: int = 3, topics: int = 1, overview: bool = True) -> Digest:
    """A small digest of `date`: `papers` of the demo day's papers (write-ups unavailable), `topics`
    topics of two articles each, an overview (or none: the feed then says the counts). A weekend day
    has no arXiv mailing."""
    pending = Section(status="unavailable", error="not written here")
    article = Article(id="a", source="Feed", kind="news", title="A headline", link="https://news.example/a")
    commentary = Section(status="ok", content=Commentary(paragraphs=["What the two articles say together [1] [2]."]))
    today = Overview(paragraphs=[f"On {date} <b>research</b> & news [1].", "Then the topics [2]."])
    return Digest(
        date=date,
        generated_at=dt.datetime.combine(date, dt.time(6, 30), dt.UTC),
        version="t",
        papers=[PaperWriteup(paper=p, summary=pending, review=pending, directions=pending) for p in PAPERS[:papers]],
        topics=[
            Topic(title=f"Topic {t} of {date}", description="d", articles=[article, article], commentary=commentary)
            for t in range(topics)
        ],
        overview=Section(status="ok", content=today) if overview else Section(status="unavailable", error="x"),
        sources=[SourceStatus(source="arxiv", url="https://arxiv.org", state="empty")] if date.weekday() >= 5 else [],
    )
