"""The data that flows between stages, as pydantic models.

Config -> Snapshot (papers, articles, source statuses) -> Digest -> files. Field names follow the
arXiv API and Atom/feedparser (arxiv_id, announce_type, primary_category, summary, published).
Nothing here knows about HTTP, feedparser dicts or OpenAI objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, Field

AnnounceType = Literal["new", "cross", "replace", "replace-cross"]
Kind = Literal["news", "comment"]
Status = Literal["ok", "unverified", "unavailable"]


def arxiv_links(arxiv_id: str) -> dict[str, str]:
    """The abstract and PDF URLs of a paper (old-style ids keep their slash: arxiv.org/abs/math/0207249)."""
    return {"abs_url": f"https://arxiv.org/abs/{arxiv_id}", "pdf_url": f"https://arxiv.org/pdf/{arxiv_id}"}


class Paper(BaseModel):
    """One arXiv paper; `summary` is the abstract (Atom's name for it)."""

    arxiv_id: str  # without version, e.g. "2604.21935" or "math/0207249"
    version: int = 1
    title: str
    authors: list[str] = []
    summary: str
    categories: list[str] = []
    primary_category: str = ""
    announce_type: AnnounceType = "new"
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    abs_url: str
    pdf_url: str
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    code_url: str | None = None  # its code repository (digest.fetch.code), shown as its "Code" link
    # The paper's text (plain, capped) when papers.fulltext asked for it; not kept in digest.json.
    fulltext: str | None = Field(default=None, exclude=True)
    fulltext_source: Literal["html", "pdf"] | None = None
    instructions_for_ai: bool = False  # the abstract or title addresses an AI (prompt injection)


class Coverage(BaseModel):
    """Another feed's item on the same story: shown as a link beside the story's lead article."""

    source: str
    title: str
    link: str
    published: dt.datetime | None = None


class Article(BaseModel):
    """One news or commentary item from an RSS/Atom feed; `summary` is plain text. On the page an
    article is a story's lead (digest.select.stories): `also` lists the other outlets that covered
    the same event, `discussion` the comment thread (Hacker News, Reddit) that links to it."""

    id: str
    source: str
    kind: Kind
    title: str
    link: str
    published: dt.datetime | None = None
    summary: str = ""
    instructions_for_ai: bool = False  # the item (hidden parts included) addresses an AI
    comments: str | None = None  # the item's own discussion URL (RSS <comments>), e.g. its Hacker News thread
    also: list[Coverage] = []
    discussion: Coverage | None = None


class SourceStatus(BaseModel):
    """What happened to one configured source during fetch.

    "truncated" is a listing cut short (arXiv's export API or OAI-PMH at its page cap, or an API
    page that failed after earlier ones were read): the `items` read are kept, and `reason` says
    how many of how many.
    """

    source: str
    url: str
    state: Literal["ok", "empty", "not_modified", "failed", "stale", "truncated"]
    items: int = 0
    reason: str | None = None
    failures: int = 0  # consecutive failed fetches, this one included (flagged from 3 on)
    stale_from: dt.date | None = None  # for "stale": the date of the copy that was used

    @property
    def failed(self) -> bool:
        """Whether today's fetch failed: "failed", or "stale" (the last good copy stood in for it)."""
        return self.state in ("failed", "stale")


class Snapshot(BaseModel):
    """Everything fetch produced for one date."""

    date: dt.date
    papers: list[Paper]
    articles: list[Article]
    sources: list[SourceStatus]
    backfilled: bool = False  # papers came from the export API, not the announcement feed
    upvotes: dict[str, int] | None = None  # arXiv id -> Hugging Face upvotes, when ranking by them


# --- LLM outputs, one model per task ----------------------------------------------------------


# Lower bounds reject empty or token-sized answers; they also reach grammar-constrained servers as
# minLength/minItems, which keeps a small model from closing a field before writing anything. Upper
# bounds are the request's (digest.llm.bounds sizes them to the task's depth settings), not the model's:
# a longer answer from a provider that ignores them is kept, not rejected.
Text = Annotated[str, Field(min_length=20)]
Idea = Annotated[str, Field(min_length=10)]
Ideas = Annotated[list[Idea], Field(min_length=1)]

QUOTE_CHARS = 300  # longest evidence quote kept (a longer quote is cut at a word: a prefix stays verbatim)


def _cut_quote(value: object) -> object:
    if not isinstance(value, str) or len(value) <= QUOTE_CHARS:
        return value
    cut = value[:QUOTE_CHARS]
    return cut[: cut.rfind(" ")] if " " in cut[QUOTE_CHARS // 2 :] else cut


Quote = Annotated[str, BeforeValidator(_cut_quote), Field(max_length=QUOTE_CHARS)]


ArxivIdEcho = Annotated[str, Field(description="The arXiv id from the paper block, copied exactly.")]
TitleEcho = Annotated[str, Field(description="The title from the paper block, copied exactly.")]


class PaperSummary(BaseModel):
    arxiv_id: ArxivIdEcho
    title: TitleEcho
    summary: Text = Field(description="A plain-language summary for a general reader, one paragraph.")


class ReviewPoint(BaseModel):
    """One point of a review part: a short title, the point, and the words of the paper it rests on."""

    title: str = Field(description="A few words naming the point.")
    text: Text = Field(description="The point itself, specific to this paper.")
    evidence: Quote = Field(description="A sentence copied word for word from the paper block that the point rests on.")
    # Whether `evidence` occurs in the text the model read (digest.write.quotes); None: not checked
    # (a review stored before evidence was asked for).
    # Written by our checks, never asked of the model: a request's schema leaves readOnly fields out.
    evidence_found: bool | None = Field(default=None, json_schema_extra={"readOnly": True})


Points = Annotated[list[ReviewPoint], Field(min_length=1)]
REVIEW_PARTS = (
    "summary_of_content",
    "weaknesses",
    "technical_soundness",
    "novelty_and_significance",
    "potential_limitations",
    "overall_evaluation",
)


class PaperReview(BaseModel):
    """A structured review: six parts (REVIEW_PARTS), each a list of evidence-anchored points."""

    arxiv_id: ArxivIdEcho
    title: TitleEcho
    summary_of_content: Points = Field(description="What the paper does and claims.")
    weaknesses: Points = Field(description="Specific, checkable weaknesses of this paper.")
    technical_soundness: Points = Field(description="Whether the method and evidence support the claims.")
    novelty_and_significance: Points = Field(description="What is new and why it matters.")
    potential_limitations: Points = Field(description="Limitations and concerns.")
    overall_evaluation: Points = Field(description="The verdict, with a recommendation.")

    def parts(self) -> dict[str, list[ReviewPoint]]:
        """The six parts by field name, in REVIEW_PARTS order."""
        return {name: getattr(self, name) for name in REVIEW_PARTS}


class ResearchDirections(BaseModel):
    arxiv_id: ArxivIdEcho
    title: TitleEcho
    direct_extensions: Ideas
    novel_directions: Ideas
    unexplored_problems: Ideas
    potential_applications: Ideas


class TLDR(BaseModel):
    number: int = Field(description="The paper's number in brackets.")
    tldr: str = Field(description="One sentence: what the paper does and finds.")


class TLDRs(BaseModel):
    tldrs: list[TLDR]


class TopicName(BaseModel):
    number: int = Field(description="The topic's number in brackets.")
    title: str = Field(description="What its stories are about, in a few words; never an outlet's name.")
    description: str = Field(description="One line saying what the topic covers.")


class TopicNames(BaseModel):
    topics: list[TopicName]


class PaperScore(BaseModel):
    number: int = Field(description="The paper's number in brackets.")
    score: int = Field(ge=1, le=10)


class TriageScores(BaseModel):
    scores: list[PaperScore]


Paragraphs = Annotated[list[Text], Field(min_length=1)]
CITED = "Each paragraph in Markdown, citing the numbered items it rests on as [n]."


class Commentary(BaseModel):
    """A topic's analyst commentary; paragraphs cite the topic's articles by number ([1] is the first)."""

    paragraphs: Paragraphs = Field(description=CITED)

    @property
    def markdown(self) -> str:
        return "\n\n".join(self.paragraphs)


class Overview(BaseModel):
    """'Today in AI'; paragraphs cite the day's items by number (the papers, then the topics)."""

    paragraphs: Paragraphs = Field(description=CITED)

    @property
    def markdown(self) -> str:
        return "\n\n".join(self.paragraphs)


class Ping(BaseModel):
    """The answer to `digest check`'s one call per model."""

    ok: bool


# What a section was written from: a paper's abstract or full text, news articles, or the day's digest.
InputKind = Literal["abstract", "fulltext", "articles", "digest"]


class Provenance(BaseModel):
    """Who wrote a section, from what."""

    models: list[str]
    prompt: str  # prompt id@version
    input_kind: InputKind
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


C = TypeVar("C", bound=BaseModel)


class Section(BaseModel, Generic[C]):
    """One written section: its content (the task's model, C) or why it is missing."""

    status: Status
    content: C | None = None
    provenance: Provenance | None = None
    error: str | None = None
    # What the checks noticed that does not make the section unverified (e.g. a garbled arXiv id echo).
    notes: list[str] = []
    # Whether the model was sent back once with a check's reason (digest.write.gate).
    retried: bool = False
    # When a rebuild could not write the section, the published version is kept: written then.
    kept_from: dt.datetime | None = None

    @property
    def has_content(self) -> bool:
        """Whether there is text to show: ok, or unverified with its reason."""
        return self.status in ("ok", "unverified") and self.content is not None


class PaperWriteup(BaseModel):
    paper: Paper
    relevance: Relevance | None = None  # with a reader profile: why the paper is here
    summary: Section[PaperSummary]
    review: Section[PaperReview]
    directions: Section[ResearchDirections]

    def sections(self) -> dict[str, Section]:
        """The paper's sections by name, in page order."""
        return {"summary": self.summary, "review": self.review, "directions": self.directions}


class Topic(BaseModel):
    title: str
    description: str
    articles: list[Article]  # its stories, each shown by its lead article (digest.select.stories)
    commentary: Section[Commentary]
    named: bool = True  # False: titled by its keywords, the model gave it no usable name


class Usage(BaseModel):
    """LLM use: the requests this run sent (calls, tokens, USD), and the answers it reused from the
    cache with what they cost when they were written, so a rebuild keeps the day's cost."""

    calls: int = 0
    cache_hits: int = 0  # answers reused from the cache
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # from llm.prices; 0 for models without a price
    cached_prompt_tokens: int = 0  # of prompt_tokens, those the provider's prompt cache served
    batch_answers: int = 0  # answers read from a provider batch or an imported runner output, not live calls
    reused_prompt_tokens: int = 0  # of the cache_hits answers, when they were written
    reused_completion_tokens: int = 0
    reused_cost_usd: float = 0.0

    def reuse(self, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """Count one answer taken from the cache, with its tokens and USD cost when written."""
        self.cache_hits += 1
        self.reused_prompt_tokens += prompt_tokens
        self.reused_completion_tokens += completion_tokens
        self.reused_cost_usd += cost_usd

    @property
    def day_tokens(self) -> int:
        """Tokens of every answer the day's sections hold (written now or reused), prompt + completion."""
        return self.prompt_tokens + self.completion_tokens + self.reused_prompt_tokens + self.reused_completion_tokens

    @property
    def day_cost_usd(self) -> float:
        """What the day's answers cost, now and when the reused ones were written (USD)."""
        return self.cost_usd + self.reused_cost_usd


class Covered(BaseModel):
    """A paper announced today that an earlier digest (`date`) already wrote up, same abstract."""

    paper: Paper
    date: dt.date


class Relevance(BaseModel):
    """How close a candidate is to the reader's profile (digest.select.rank), and the one line why."""

    relevance: float = Field(ge=0, le=1)
    why: str


class Listed(BaseModel):
    """One candidate paper of the day in the "All papers today" list, written up or not."""

    paper: Paper
    tldr: str | None = None  # by the triage model (digest.write.tldr); None: batch failed, none written or shown
    written_up: bool = False  # its write-up is on the page
    relevance: Relevance | None = None  # with a reader profile


class Grouping(BaseModel):
    """The day's news as topics, and whether the model grouped them ("ok") or they fell back to one
    topic per source ("unavailable")."""

    topics: list[Topic]
    status: Status = "ok"


class Ranking(BaseModel):
    """Which candidate papers are written up, how they were chosen, and what went wrong choosing."""

    papers: list[Paper]
    method: str = "announcement order"
    error: str | None = None  # the ranking was incomplete (a failed listing or triage batch)
    relevance: dict[str, Relevance] | None = None  # the reader relevance it ranked by, after a re-rank


class Digest(BaseModel):
    """The whole day, ready to render."""

    date: dt.date
    generated_at: dt.datetime
    version: str
    papers: list[PaperWriteup]
    topics: list[Topic]
    overview: Section[Overview]
    topic_plan_status: Status = "ok"
    sources: list[SourceStatus]
    backfilled: bool = False
    usage: Usage = Usage()
    updated: list[Paper] = []  # replacements, listed without write-ups
    covered: list[Covered] = []  # already written up in an earlier digest
    filtered_out: int = 0  # papers the keyword filters left out
    ranking: str = "announcement order"  # how the written-up papers were chosen when there were too many
    ranking_error: str | None = None  # triage batches that failed (their papers kept announcement order)
    listed: list[Listed] = []  # every candidate paper of the day, in announcement order
    listed_error: str | None = None  # TL;DR batches that failed (their papers are listed without one)
    listed_model: str | None = None  # the model that wrote the TL;DRs
    embedding_error: str | None = None  # an endpoint's embeddings failed: what fell back to what

    @property
    def article_count(self) -> int:
        return sum(len(t.articles) for t in self.topics)


class RunReport(BaseModel):
    """What a build did, written as run.json beside the page."""

    date: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime
    page: str | None
    sources: list[SourceStatus]
    usage: Usage
    failures: list[str]
    exit_status: int
