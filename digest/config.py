"""The pydantic models of sources.yaml, its loading, and the settings that come from the environment.

Every wrong setting is a ConfigError whose message gives the file, the line and the key as a reader
counts it (`news.feeds[2].kind` is the second feed's kind). Secrets never live in the file: the API
key is read from the environment variable the file names (`llm.api_key_env`, default
OPENAI_API_KEY). Following the openai SDK's own conventions, OPENAI_BASE_URL overrides
`llm.base_url`; DIGEST_MODEL overrides every task's model, and DIGEST_SITE_URL `site.url`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from pydantic_core import PydanticCustomError

from digest.deliver.settings import NotifyConfig, Target
from digest.errors import ConfigError
from digest.llmconfig import EMBEDDED_MODEL, CommentaryConfig, DepthConfig, LLMConfig, StructuredOutput, TaskModels
from digest.models import AnnounceType, Kind
from digest.select.reader import ReaderConfig
from digest.strict import Strict
from digest.yamlfile import error, locate, parse

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


# An arXiv category: archive.SUBJECT (cs.AI, math.CO, astro-ph.GA, q-bio.NC), a lowercase subject
# (cond-mat.str-el, physics.optics), or an archive without subjects (hep-th, quant-ph, gr-qc).
_CATEGORY = re.compile(r"[a-z]+(-[a-z]+)?\.([A-Z]{2}|[a-z]{3,}|[a-z]{2,}-[a-z]{2,})|[a-z]+-[a-z]+")


def _category(value: str) -> str:
    if not _CATEGORY.fullmatch(value):
        raise PydanticCustomError(
            "arxiv_category",
            "{category} is not an arXiv category (like cs.AI, math.CO, hep-th or astro-ph.GA)",
            {"category": repr(value)},
        )
    return value


_HOST_PORT = re.compile(r"(?P<host>\[[^\]]+\]|[^\s/@:\[\]?#]+):(?P<port>[0-9]{1,5})")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def host_port(host: str, port: int) -> str:
    """The "host:port" form in which fetch.allow_private is kept and a fetched URL's host and port
    (or the connected peer's address) must be compared with it: the host lowercased, an IPv6
    address compressed and in brackets ("[::1]:8080"). `host` carries no brackets."""
    address = _address(host)
    if address is None:
        return f"{host.lower()}:{port}"
    return f"[{address.compressed}]:{port}" if address.version == 6 else f"{address}:{port}"


def _allow_entry(entry: str) -> str:
    """`entry` of fetch.allow_private in its host_port form; raises unless it is host:port with a
    port 1-65535 (an IPv6 address in brackets), as the fetcher compares it."""
    match = _HOST_PORT.fullmatch(entry)
    if match and 1 <= int(match["port"]) <= 65535:
        host = match["host"]
        if not host.startswith("[") or isinstance(_address(host[1:-1]), ipaddress.IPv6Address):
            return host_port(host.strip("[]"), int(match["port"]))
    raise PydanticCustomError(
        "host_port",
        "{entry} is not host:port with a port 1-65535 (like 127.0.0.1:8080, localhost:8000 or [::1]:8080)",
        {"entry": repr(entry)},
    )


class ArxivConfig(Strict):
    categories: list[Annotated[str, AfterValidator(_category)]] = Field(
        default=["cs.AI", "cs.CL", "cs.LG"], min_length=1
    )
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
    max: int = Field(default=20, ge=0)  # papers written up per day
    # announce types that get write-ups; replacements not listed here go to "Updated papers"
    announce_types: list[AnnounceType] = ["new", "cross"]
    updated: Literal["list", "skip"] = "list"  # list the other replacements (no LLM calls) or skip them
    include: list[str] = []  # keywords (whole words, any case); when set, a paper must match one
    exclude: list[str] = []  # keywords that leave a paper out
    # Past `max` candidates: keep announcement order, let llm.models.triage score titles and
    # abstracts (in batches of triage_batch), take the most upvoted on Hugging Face daily papers, or
    # the closest to the reader profile (`reader:`; an empty profile falls back to triage).
    rank: Literal["announcement", "triage", "upvotes", "reader"] = "announcement"
    triage_batch: int = Field(default=25, ge=1, le=100)
    upvotes_url: str = "https://huggingface.co/api/daily_papers?date={date}"
    # What the write-ups read: the abstract, or the paper (arXiv's HTML, else the PDF; or the PDF).
    fulltext: Literal["abstract", "html", "pdf"] = "abstract"
    fulltext_chars: int = Field(default=24000, ge=1000)  # about 6,000 tokens of paper text per request


class FeedConfig(Strict):
    name: str
    url: str
    kind: Kind

    @property
    def source_name(self) -> str:
        """The name the feed's raw responses are stored under in a snapshot."""
        return f"feed-{self.name}"


class NewsConfig(Strict):
    window_days: int = Field(default=2, ge=1)
    max_per_feed: int = Field(default=10, ge=1)
    max_articles: int = Field(default=60, ge=1)
    feeds: list[FeedConfig] = []
    embeddings: str | None = None  # clustering topics by the endpoint's model (/v1/embeddings); None: WordLlama


class FetchConfig(Strict):
    # "host:port" entries that may resolve to private or loopback addresses (a local feed server,
    # a proxy); every other host must be public, at every redirect hop.
    allow_private: list[Annotated[str, AfterValidator(_allow_entry)]] = []
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # bytes, after decompression
    deadline_seconds: float = Field(default=60.0, gt=0)  # seconds for one whole response
    per_host: int = Field(default=2, ge=1)  # concurrent requests to one host
    workers: int = Field(default=16, ge=1, le=64)  # news feeds fetched at once


class SiteConfig(Strict):
    url: str | None = None  # public URL of the output folder, for absolute ids and links in feed.xml and papers.xml
    inline_max: int = Field(default=100, ge=0)  # larger days put reviews and directions on the paper pages only


class Config(Strict):
    site: SiteConfig = SiteConfig()
    arxiv: ArxivConfig = ArxivConfig()
    papers: PapersConfig = PapersConfig()
    news: NewsConfig = NewsConfig()
    fetch: FetchConfig = FetchConfig()
    llm: LLMConfig = LLMConfig()
    notify: NotifyConfig = NotifyConfig()
    reader: ReaderConfig = ReaderConfig()


class Endpoint(BaseModel):
    """The resolved LLM endpoint for this run (after environment overrides)."""

    base_url: str | None  # None: start the embedded llama.cpp server
    api_key: str | None
    structured_output: StructuredOutput
    models: TaskModels
    commentary: CommentaryConfig
    depth: DepthConfig = DepthConfig()  # llm.depth, or llm.embedded.depth for the embedded model

    @property
    def embedded(self) -> bool:
        return self.base_url is None


# pydantic's wording where it names an internal class or speaks of Python
_MESSAGES = {
    "model_type": "expected a mapping of settings",
    "dict_type": "expected a mapping",
    "extra_forbidden": "unknown setting (docs/settings.md lists them all)",
}


def load_config(path: Path) -> Config:
    """Read and validate sources.yaml.

    Raises ConfigError when the file cannot be read or is not UTF-8 (naming the file, the line and
    the byte offset), is not YAML, or holds a key twice, a key that is unknown, a value of the wrong
    type or two feeds stored under one file name; the message gives `file:line: key: problem` for
    each, keys as a reader counts them (`news.feeds[2].kind`: the second feed's kind).
    """
    root, raw = parse(path)
    try:
        config = Config.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        problems = [(*locate(root, err["loc"]), _MESSAGES.get(err["type"], err["msg"])) for err in exc.errors()]
    else:
        problems = [(*locate(root, loc), message) for loc, message in _feed_clashes(config.news, root)]
    if problems:
        raise error(path, problems)
    library = config.reader.library
    if library is not None and not library.is_absolute():  # relative to the file that names it
        config = config.model_copy(
            update={"reader": config.reader.model_copy(update={"library": path.parent / library})}
        )
    return config


def _feed_clashes(news: NewsConfig, root: yaml.Node | None) -> Iterator[tuple[tuple, str]]:
    """(location, message) for every feed named like an earlier one: a snapshot stores responses
    by name, so the two would overwrite each other."""
    first: dict[str, int] = {}
    for i, feed in enumerate(news.feeds):
        j = first.setdefault(feed.name, i)
        if j != i:
            line, other = locate(root, ("news", "feeds", j))
            yield (
                ("news", "feeds", i, "name"),
                f"{feed.name!r} is also the name of {other} (line {line}); each feed needs a name of its own",
            )


def masked(config: Config) -> dict:
    """The effective configuration as plain data, for display (it holds no secrets: keys live in
    the environment; the URL's user info, if any, is masked)."""
    data = config.model_dump(mode="json")
    url = data["llm"]["base_url"]
    if url and "@" in url:
        scheme, rest = url.split("://", 1)
        data["llm"]["base_url"] = f"{scheme}://***@{rest.split('@', 1)[1]}"
    data["notify"]["urls"] = [Target(n, url).label for n, url in enumerate(config.notify.urls, 1)]  # they hold secrets
    return data


def resolve_endpoint(llm: LLMConfig, environ: dict[str, str] | None = None) -> Endpoint:
    """Apply the environment to the LLM settings.

    No base URL and no API key anywhere means the embedded model (with llm.embedded.depth); an API
    key alone means the OpenAI API. DIGEST_MODEL replaces every task's model (drafters and
    synthesizer included).
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
        models = TaskModels(**dict.fromkeys(TaskModels.model_fields, forced))
        commentary = CommentaryConfig(drafters=[forced], synthesizer=forced)
    return Endpoint(
        base_url=base_url,
        api_key=api_key,
        structured_output=structured,
        models=models,
        commentary=commentary,
        depth=llm.embedded.depth if base_url is None else llm.depth,
    )


def with_environment(config: Config, environ: dict[str, str] | None = None) -> Config:
    """`config` with DIGEST_SITE_URL, when set, as `site.url` (a deployment such as GitHub Pages
    knows its public URL only when it runs)."""
    env = os.environ if environ is None else environ
    url = env.get("DIGEST_SITE_URL")
    if not url:
        return config
    return config.model_copy(update={"site": config.site.model_copy(update={"url": url})})


def models_in_use(config: Config, endpoint: Endpoint) -> list[str]:
    """The distinct models a run calls, in task order, after the environment's overrides: every
    llm.models task (triage writes the whole-day list's TL;DRs, whatever papers.rank is), the
    drafters and the synthesizer."""
    tasks = endpoint.models.model_dump()
    return list(dict.fromkeys([*tasks.values(), *endpoint.commentary.drafters, endpoint.commentary.synthesizer]))


def check_prices(config: Config, endpoint: Endpoint) -> None:
    """Raise ConfigError when llm.budget.max_usd is set but llm.prices lacks a model in use: a model
    without a price costs 0 USD in the run's count, so the budget would never bind. `endpoint`
    comes from resolve_endpoint (DIGEST_MODEL replaces the file's models); the embedded model costs
    nothing, so any USD budget is fine there."""
    if config.llm.budget.max_usd is None or endpoint.embedded:
        return
    missing = [model for model in models_in_use(config, endpoint) if model not in config.llm.prices]
    if missing:
        source = " (DIGEST_MODEL replaces every model)" if endpoint.models != config.llm.models else ""
        raise ConfigError(
            f"llm.budget.max_usd is set, but llm.prices has no price for {', '.join(missing)}"
            f"{source}; give every model in use a price, or leave max_usd out"
        )
