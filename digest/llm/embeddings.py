"""Text embeddings from the endpoint's `/v1/embeddings`, the option beside the embedded WordLlama
(digest.select.stories, digest.select.rank) when the configuration names an embedding model.

`Embedder.embed(texts, model)` gives one unit-length float32 row per text, as WordLlama's `embed` does,
so a caller can take either. Each text's vector is stored in the answer cache (digest.llm.cache) under
the model and the SHA-256 of the text, so a rerun sends no request and a killed run keeps the vectors of
every request that was answered. Texts the cache lacks go out `BATCH_SIZE` per request, through the openai
SDK's sync client: the callers are sync code running in worker threads.

Retries are the SDK's own (429 after Retry-After, 5xx, timeouts and lost connections, with backoff),
`MAX_ATTEMPTS` attempts in all as for completions (digest.llm.policy); an embedding has no budget
reservation or circuit breaker of its own: a day embeds its texts in a few requests.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import openai

from digest.config import Endpoint
from digest.llm.cache import AnswerCache
from digest.llm.policy import MAX_ATTEMPTS
from digest.llm.request import LLMError

# Inputs per request: OpenAI takes up to 2,048 and 300,000 tokens per request; local servers (Ollama,
# llama.cpp, vLLM) take a list too, and 256 texts of a paper's length stay far below either limit.
BATCH_SIZE = 256


class EmbeddingError(LLMError):
    """The endpoint gave no usable vectors for a model: an HTTP or transport error (the message names
    the model and the HTTP status), vectors not one per text, or vectors of differing dimensions."""


def text_sha256(text: str) -> str:
    """The SHA-256 hex digest of `text`'s UTF-8 bytes: the key of its vector in the cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Unit-length embeddings of texts by the endpoint's embedding models, cached in `cache`.

    `with Embedder(endpoint, cache) as embedder:` owns the HTTP client; the cache is its owner's. Safe to
    call from several threads at once. `calls` counts the requests sent and `prompt_tokens` the tokens the
    endpoint reported for them (0 when it reports none), over the embedder's life.
    """

    def __init__(self, endpoint: Endpoint, cache: AnswerCache, *, timeout: float = 120.0, batch_size: int = BATCH_SIZE):
        """`endpoint` is the resolved one (its base_url set: the embedded server's once started);
        `timeout` bounds each request (seconds). Raises ValueError when the endpoint has no base_url
        or `batch_size` is not positive."""
        if endpoint.base_url is None:
            raise ValueError("embeddings need the endpoint's base_url: start the embedded server first")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.cache = cache
        self.batch_size = batch_size
        self.calls = 0
        self.prompt_tokens = 0
        self._counting = threading.Lock()
        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key or "not-needed",
            max_retries=MAX_ATTEMPTS - 1,
            timeout=timeout,
        )

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the cache is its owner's to close)."""
        self._client.close()

    def embed(self, texts: Sequence[str], model: str) -> np.ndarray:
        """The embedding of each of `texts` by `model`: an n x d float32 array of unit-length rows, in
        the order of `texts` (d is the model's dimension; n = 0 gives a 0 x 0 array).

        A text the cache holds for `model` is not sent; the others go out once each (a text given twice
        is sent once), `batch_size` per request, and are cached as each request answers. Raises
        ValueError for an empty or blank text (endpoints refuse one), EmbeddingError when the endpoint
        fails after its retries, answers a request with not one vector per text, or gives vectors of
        differing dimensions (across requests or against the cached ones), or one that is zero or not
        finite.
        """
        blank = next((i for i, text in enumerate(texts) if not text.strip()), None)
        if blank is not None:
            raise ValueError(f"text {blank} is empty: an endpoint embeds no empty text")
        keys = [text_sha256(text) for text in texts]
        stored = self.cache.vectors(model, dict.fromkeys(keys))
        vectors = {key: np.frombuffer(blob, dtype=np.float32) for key, blob in stored.items()}
        _same_dimension(model, vectors.values())
        missing = list({key: text for key, text in zip(keys, texts, strict=True) if key not in vectors}.items())
        for start in range(0, len(missing), self.batch_size):
            batch = dict(missing[start : start + self.batch_size])
            fresh = dict(zip(batch, self._request(list(batch.values()), model), strict=True))
            # Checked before they are stored: a wrong answer cached would be the answer of every rerun.
            _same_dimension(model, [*fresh.values(), *itertools.islice(vectors.values(), 1)])
            self.cache.put_vectors(model, {key: row.tobytes() for key, row in fresh.items()})
            vectors.update(fresh)
        rows = [vectors[key] for key in keys]
        return np.vstack(rows) if rows else np.empty((0, 0), dtype=np.float32)

    def _request(self, texts: list[str], model: str) -> list[np.ndarray]:
        """One request's vectors, one unit-length float32 row per text, in order. Raises EmbeddingError."""
        try:
            resp = self._client.embeddings.create(model=model, input=texts)
        except openai.APIStatusError as exc:
            raise EmbeddingError(f"{model}: embeddings failed: HTTP {exc.status_code}: {exc.message}") from None
        except openai.APIError as exc:  # transport: connection refused, timeout
            raise EmbeddingError(f"{model}: embeddings failed: {exc}") from None
        except ValueError:  # the SDK's own check of an answer with no vectors at all
            raise EmbeddingError(f"{model}: the endpoint gave no vectors for {len(texts)} texts") from None
        with self._counting:
            self.calls += 1
            usage = getattr(resp, "usage", None)  # a server may leave it out
            self.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
        data = sorted(resp.data, key=lambda item: item.index)
        if [item.index for item in data] != list(range(len(texts))):
            raise EmbeddingError(
                f"{model}: the endpoint gave not one vector per text ({len(data)} vectors for {len(texts)} texts)"
            )
        return [_unit(np.asarray(item.embedding, dtype=np.float32), model) for item in data]


def _same_dimension(model: str, vectors: Iterable[np.ndarray]) -> None:
    """Raise EmbeddingError unless every one of `vectors` has the same dimension."""
    dimensions = sorted({len(vector) for vector in vectors})
    if len(dimensions) > 1:
        raise EmbeddingError(f"{model}: the endpoint gave vectors of differing dimensions {dimensions}")


def _unit(vector: np.ndarray, model: str) -> np.ndarray:
    """`vector` scaled to unit length (OpenAI's vectors are, not every server's are). Raises
    EmbeddingError for a vector that is zero, empty or not finite: it points nowhere."""
    norm = float(np.linalg.norm(vector)) if vector.size else 0.0
    if not np.isfinite(norm) or norm == 0.0:
        raise EmbeddingError(f"{model}: the endpoint gave a vector that is zero, empty or not finite")
    return vector / np.float32(norm)
