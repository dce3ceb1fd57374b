"""The pydantic models of sources.yaml, and the settings that come from the environment.

Secrets never live in the file: the API key is read from the environment variable the file names
(`llm.api_key_env`, default OPENAI_API_KEY). Following the openai SDK's own conventions,
OPENAI_BASE_URL overrides `llm.base_url`, and DIGEST_MODEL overrides every task's model.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

EMBEDDED_MODEL = "SmolLM2-135M-Instruct"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


class ConfigError(Exception):
    """sources.yaml is missing, not YAML, or does not match the schema; the message names the key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArxivConfig(Strict):
    categories: list[str] = ["cs.AI", "cs.CL", "cs.LG"]
    rss_url: str = "https://rss.arxiv.org/rss/{category}"
    api_url: str = "https://export.arxiv.org/api/query"
    backfill: Literal["api", "oai"] = "api"  # how a date the feed no longer shows is listed
    oai_url: str = "https://oaipmh.arxiv.org/oai"
    oai_set: str = "cs"
    html_url: str = "https://arxiv.org/html/{id}v{version}"  # full text, when papers.fulltext is html
    pdf_url: str = "https://arxiv.org/pdf/{id}v{version}"
    # arXiv's API terms of use: no more than one request every three seconds.
    delay_seconds: float = 3.0
    holidays: list[dt.date] = []  # dates without a mailing (arXiv publishes its holiday schedule)


class PapersConfig(Strict):
    max: int = Field(20, ge=0)  # papers written up per day
    # announce types that get write-ups; replacements not listed here go to "Updated papers"
    announce_types: list[Literal["new", "cross", "replace", "replace-cross"]] = ["new", "cross"]
    updated: Literal["list", "skip"] = "list"  # list the other replacements (no LLM calls) or skip them
    include: list[str] = []  # keywords (whole words, any case); when set, a paper must match one
    exclude: list[str] = []  # keywords that leave a paper out
    # Past `max` candidates: keep announcement order, let llm.models.triage score titles and
    # abstracts (in batches of triage_batch), or take the most upvoted on Hugging Face daily papers.
    rank: Literal["announcement", "triage", "upvotes"] = "announcement"
    triage_batch: int = Field(25, ge=1, le=100)
    upvotes_url: str = "https://huggingface.co/api/daily_papers?date={date}"
    # What the write-ups read: the abstract, or the paper (arXiv's HTML, else the PDF; or the PDF).
    fulltext: Literal["abstract", "html", "pdf"] = "abstract"
    fulltext_chars: int = Field(24000, ge=1000)  # about 6,000 tokens of paper text per request


class FeedConfig(Strict):
    name: str
    url: str
    kind: Literal["news", "comment"]


class NewsConfig(Strict):
    window_days: int = Field(2, ge=1)
    max_per_feed: int = Field(10, ge=1)
    max_articles: int = Field(60, ge=1)
    feeds: list[FeedConfig] = []


class FetchConfig(Strict):
    # "host:port" entries that may resolve to private or loopback addresses (a local feed server,
    # a proxy); every other host must be public, at every redirect hop.
    allow_private: list[str] = []
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)  # bytes, after decompression
    deadline_seconds: float = Field(60.0, gt=0)  # seconds for one whole response
    per_host: int = Field(2, ge=1)  # concurrent requests to one host
    workers: int = Field(16, ge=1, le=64)  # news feeds fetched at once


class TaskModels(Strict):
    triage: str = "gpt-4o-mini"  # a cheap model: scores titles and abstracts when papers.rank is triage
    summary: str = "gpt-4o-mini"
    review: str = "gpt-4o-mini"
    directions: str = "gpt-4o-mini"
    topics: str = "gpt-4o-mini"
    overview: str = "gpt-4o-mini"


class CommentaryConfig(Strict):
    drafters: list[str] = Field(default_factory=lambda: ["gpt-4o-mini"], min_length=1)
    synthesizer: str = "gpt-4o-mini"


class EmbeddedConfig(Strict):
    n_ctx: int = Field(4096, ge=512)  # tokens
    startup_timeout: float = 120.0  # seconds


class BudgetConfig(Strict):
    max_calls: int | None = Field(None, ge=1)  # requests per run
    max_tokens: int | None = Field(None, ge=1)  # prompt + completion tokens per run
    max_usd: float | None = Field(None, gt=0)  # cost per run, from llm.prices


class Price(Strict):
    prompt: float = Field(ge=0)  # USD per million prompt tokens
    completion: float = Field(ge=0)  # USD per million completion tokens


class LLMConfig(Strict):
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    # json_schema: OpenAI-style response_format; json_object: {"type": "json_object", "schema": ...}
    # as llama.cpp's server accepts it; none: prompt-only, validated after the fact.
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    concurrency: int = Field(4, ge=1)
    timeout: float = Field(120.0, gt=0)  # seconds per call
    temperature: float = 0.3
    models: TaskModels = TaskModels()
    commentary: CommentaryConfig = CommentaryConfig()
    embedded: EmbeddedConfig = EmbeddedConfig()
    budget: BudgetConfig = BudgetConfig()
    prices: dict[str, Price] = {}  # model -> price, for the cost in run.json and budget.max_usd


class SiteConfig(Strict):
    url: str | None = None  # public URL of the output folder, for absolute links in feed.xml
    inline_max: int = Field(100, ge=0)  # larger days put reviews and directions on the paper pages only


class Config(Strict):
    site: SiteConfig = SiteConfig()
    arxiv: ArxivConfig = ArxivConfig()
    papers: PapersConfig = PapersConfig()
    news: NewsConfig = NewsConfig()
    fetch: FetchConfig = FetchConfig()
    llm: LLMConfig = LLMConfig()


class Endpoint(BaseModel):
    """The resolved LLM endpoint for this run (after environment overrides)."""

    base_url: str | None  # None: start the embedded llama.cpp server
    api_key: str | None
    structured_output: Literal["json_schema", "json_object", "none"]
    models: TaskModels
    commentary: CommentaryConfig

    @property
    def embedded(self) -> bool:
        return self.base_url is None


def load_config(path: Path) -> Config:
    """Read and validate sources.yaml.

    Raises ConfigError naming the file and the dotted key that is unknown or of the wrong type.
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{path}:{_line_of(text, err['loc'])}: {key}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from exc


def _line_of(text: str, loc: tuple) -> int:
    """The 1-based line of the YAML node at `loc` (or of its nearest existing parent)."""
    node = yaml.compose(text)
    line = node.start_mark.line if node else 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def masked(config: Config) -> dict:
    """The effective configuration as plain data, for display (it holds no secrets: keys live in
    the environment; the URL's user info, if any, is masked)."""
    data = config.model_dump(mode="json")
    url = data["llm"]["base_url"]
    if url and "@" in url:
        scheme, rest = url.split("://", 1)
        data["llm"]["base_url"] = f"{scheme}://***@{rest.split('@', 1)[1]}"
    return data


def resolve_endpoint(llm: LLMConfig, environ: dict[str, str] | None = None) -> Endpoint:
    """Apply the environment to the LLM settings.

    No base URL and no API key anywhere means the embedded model; an API key alone means the
    OpenAI API. DIGEST_MODEL replaces every task's model (drafters and synthesizer included).
    """
    env = os.environ if environ is None else environ
    base_url = env.get("OPENAI_BASE_URL") or llm.base_url
    api_key = env.get(llm.api_key_env) or None
    models, commentary = llm.models, llm.commentary
    structured = llm.structured_output
    if base_url is None and api_key is None:
        forced = EMBEDDED_MODEL
        structured = "json_object"
    else:
        base_url = base_url or OPENAI_DEFAULT_BASE_URL
        forced = env.get("DIGEST_MODEL")
    if forced:
        models = TaskModels(**{task: forced for task in TaskModels.model_fields})
        commentary = CommentaryConfig(drafters=[forced], synthesizer=forced)
    return Endpoint(
        base_url=base_url,
        api_key=api_key,
        structured_output=structured,
        models=models,
        commentary=commentary,
    )
