"""The `llm:` section of sources.yaml: endpoint, task models, commentary, depth, the embedded model,
budget, prices and batch mode (loaded and checked with the rest in digest.config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from digest.strict import Strict

EMBEDDED_MODEL = "SmolLM2-135M-Instruct"
# How JSON answers are asked for: OpenAI's response_format json_schema, llama.cpp's json_object with a
# schema, or none (the schema in the prompt, the answer validated after the fact).
StructuredOutput = Literal["json_schema", "json_object", "none"]


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


class Depth(Strict):
    """How long one task's answer may be: the completion's `max_tokens`, and `points` of up to `words`
    words each (points per review part, ideas per group of directions, paragraphs of a commentary or
    overview; a summary is one paragraph). digest.llm.bounds turns them into the request's schema bounds."""

    max_tokens: int = Field(ge=64)  # completion tokens
    points: int = Field(ge=1, le=10)
    words: int = Field(ge=5, le=400)


class DepthConfig(Strict):
    """Per-task depth. The defaults give a capable model (gpt-4o class) the depth of a careful human-
    written digest: a review of about 800-1,500 words in 2-4 points per part."""

    summary: Depth = Depth(max_tokens=600, points=1, words=160)
    review: Depth = Depth(max_tokens=5000, points=3, words=70)
    directions: Depth = Depth(max_tokens=1500, points=3, words=40)
    commentary: Depth = Depth(max_tokens=1200, points=3, words=120)
    overview: Depth = Depth(max_tokens=1200, points=3, words=120)

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: object) -> object:
        """`review: {points: 2}` changes the points and keeps the task's other defaults."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if field is not None and isinstance(field.default, Depth) and (value is None or isinstance(value, dict)):
                merged[name] = {**field.default.model_dump(), **(value or {})}
        return merged


class EmbeddedDepthConfig(DepthConfig):
    """The depth for the embedded model: short enough for a 135M-parameter model on 2 CPU cores to
    finish every answer."""

    summary: Depth = Depth(max_tokens=300, points=1, words=70)
    review: Depth = Depth(max_tokens=700, points=1, words=15)
    directions: Depth = Depth(max_tokens=400, points=2, words=15)
    commentary: Depth = Depth(max_tokens=400, points=2, words=60)
    overview: Depth = Depth(max_tokens=400, points=2, words=60)


class EmbeddedConfig(Strict):
    n_ctx: int = Field(default=4096, ge=512)  # tokens
    startup_timeout: float = 120.0  # seconds
    depth: EmbeddedDepthConfig = EmbeddedDepthConfig()  # llm.depth for the embedded model


class BudgetConfig(Strict):
    max_calls: int | None = Field(default=None, ge=1)  # requests per run
    max_tokens: int | None = Field(default=None, ge=1)  # prompt + completion tokens per run
    max_usd: float | None = Field(default=None, gt=0)  # cost per run, from llm.prices


class Price(Strict):
    """USD per million tokens; a rate left out falls back to the live one (an upper bound)."""

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)
    cached_prompt: float | None = Field(default=None, ge=0)  # prompt tokens the provider's prompt cache served
    batch_prompt: float | None = Field(default=None, ge=0)  # through the provider's Batch API
    batch_completion: float | None = Field(default=None, ge=0)


class LLMConfig(Strict):
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    # json_schema: OpenAI-style response_format; json_object: {"type": "json_object", "schema": ...}
    # as llama.cpp's server accepts it; none: prompt-only, validated after the fact.
    structured_output: StructuredOutput = "json_schema"
    concurrency: int = Field(default=4, ge=1)
    timeout: float = Field(default=120.0, gt=0)  # seconds per call
    temperature: float = 0.3
    models: TaskModels = TaskModels()
    commentary: CommentaryConfig = CommentaryConfig()
    depth: DepthConfig = DepthConfig()
    embedded: EmbeddedConfig = EmbeddedConfig()
    budget: BudgetConfig = BudgetConfig()
    prices: dict[str, Price] = {}  # model -> price, for the cost in run.json and budget.max_usd
    batch: bool = False  # send the day's requests as provider Batch API jobs (digest.llm.batch)
    batch_wait: float = Field(default=86400.0, ge=0)  # seconds `build --wait` polls a batch at most
    batch_poll: float = Field(default=60.0, gt=0)  # seconds between two looks at a running batch
