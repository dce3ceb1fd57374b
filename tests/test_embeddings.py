"""The endpoint's embeddings over real HTTP against the fake server: unit-length rows, batching, the
SQLite cache by text hash, and the endpoint's faults as clear errors."""

import asyncio
import sqlite3

import numpy as np
import pytest
from fake_llm import EMBEDDING_DIMENSION, bag_of_words

from digest.config import LLMConfig, resolve_endpoint
from digest.llm.cache import SCHEMA_VERSION, AnswerCache
from digest.llm.embeddings import BATCH_SIZE, Embedder, EmbeddingError, text_sha256
from digest.llm.policy import MAX_ATTEMPTS
from digest.llm.request import LLMError

MODEL = "text-embedding-3-small"
TEXTS = [
    "Agents that plan with language models",
    "Language models that plan as agents",
    "Dark matter halos in dwarf galaxies",
]


def _endpoint(server):
    return resolve_endpoint(LLMConfig(base_url=server.base_url), environ={"OPENAI_API_KEY": "k"})


def _embed(server, texts, model=MODEL, cache=None, **options) -> np.ndarray:
    with Embedder(_endpoint(server), cache or AnswerCache(None), timeout=10, **options) as embedder:
        return embedder.embed(texts, model)


def _hashes(texts) -> list[str]:
    return [text_sha256(text) for text in texts]


def _sent(server) -> list[list[str]]:
    """The inputs of each embeddings request the server got, in order."""
    return [request["input"] for request in server.embedding_requests]


def test_rows_are_unit_length_float32_in_the_order_given(fake_llm):
    vectors = _embed(fake_llm, TEXTS)
    assert vectors.shape == (3, EMBEDDING_DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    for text, row in zip(TEXTS, vectors, strict=True):  # the server's vector, scaled, of that very text
        expected = np.asarray(bag_of_words(text), dtype=np.float32)
        assert np.allclose(row, expected / np.linalg.norm(expected), atol=1e-6)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # the two texts about planning agents are the close ones
    assert fake_llm.requests == [] and len(fake_llm.embedding_requests) == 1  # no chat request is counted


def test_a_text_given_twice_is_sent_once(fake_llm):
    vectors = _embed(fake_llm, [TEXTS[0], TEXTS[1], TEXTS[0]])
    assert _sent(fake_llm) == [[TEXTS[0], TEXTS[1]]]
    assert np.array_equal(vectors[0], vectors[2])


def test_no_text_makes_no_request(fake_llm):
    assert _embed(fake_llm, []).shape == (0, 0)
    assert fake_llm.embedding_requests == []


def test_more_texts_than_a_batch_take_several_requests(fake_llm):
    texts = [f"paper number {i} on reinforcement learning" for i in range(2 * BATCH_SIZE + 3)]
    vectors = _embed(fake_llm, texts)
    assert [len(inputs) for inputs in _sent(fake_llm)] == [BATCH_SIZE, BATCH_SIZE, 3]
    assert [text for inputs in _sent(fake_llm) for text in inputs] == texts
    assert vectors.shape == (len(texts), EMBEDDING_DIMENSION)


def test_a_rerun_sends_nothing_and_gives_the_same_rows(fake_llm, tmp_path):
    path = tmp_path / "llm-cache.sqlite"
    with AnswerCache(path) as cache:
        first = _embed(fake_llm, TEXTS, cache=cache)
    with AnswerCache(path) as cache:  # the next run, from the file
        again = _embed(fake_llm, TEXTS, cache=cache)
    assert len(fake_llm.embedding_requests) == 1
    assert np.array_equal(first, again)


def test_only_the_texts_the_cache_lacks_are_sent(fake_llm):
    cache = AnswerCache(None)
    _embed(fake_llm, TEXTS[:2], cache=cache)
    _embed(fake_llm, TEXTS, cache=cache)
    assert _sent(fake_llm) == [TEXTS[:2], TEXTS[2:]]


def test_another_model_is_asked_again(fake_llm):
    cache = AnswerCache(None)
    _embed(fake_llm, TEXTS, cache=cache)
    _embed(fake_llm, TEXTS, model="nomic-embed-text", cache=cache)
    assert [request["model"] for request in fake_llm.embedding_requests] == [MODEL, "nomic-embed-text"]


def test_a_worker_thread_embeds_with_the_cache_of_the_main_thread(fake_llm):
    # The pipeline opens the cache on its event loop's thread and ranks in a worker thread.
    cache = AnswerCache(None)
    vectors = asyncio.run(asyncio.to_thread(_embed, fake_llm, TEXTS, MODEL, cache))
    assert vectors.shape == (3, EMBEDDING_DIMENSION)
    assert np.array_equal(_embed(fake_llm, TEXTS, cache=cache), vectors)
    assert len(fake_llm.embedding_requests) == 1


def test_a_server_error_names_the_model_and_the_status_after_the_retries(fake_llm):
    fake_llm.behaviour[MODEL] = "error"
    with pytest.raises(EmbeddingError, match=rf"^{MODEL}: embeddings failed: HTTP 500: .*scripted failure") as caught:
        _embed(fake_llm, TEXTS)
    assert isinstance(caught.value, LLMError)  # a failed LLM call, as the pipeline handles them
    assert len(fake_llm.embedding_requests) == MAX_ATTEMPTS


def test_a_refused_request_is_not_retried(fake_llm):
    fake_llm.behaviour[MODEL] = "ctx400"
    with pytest.raises(EmbeddingError, match=rf"^{MODEL}: embeddings failed: HTTP 400: .*maximum context length"):
        _embed(fake_llm, TEXTS)
    assert len(fake_llm.embedding_requests) == 1


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("fewer", r"not one vector per text \(2 vectors for 3 texts\)"),
        ("ragged", r"vectors of differing dimensions \[63, 64\]"),
    ],
)
def test_a_wrong_answer_is_an_error_and_is_not_cached(fake_llm, mode, problem):
    cache = AnswerCache(None)
    fake_llm.behaviour[MODEL] = mode
    with pytest.raises(EmbeddingError, match=rf"^{MODEL}: the endpoint gave {problem}"):
        _embed(fake_llm, TEXTS, cache=cache)
    fake_llm.behaviour[MODEL] = "ok"
    assert _embed(fake_llm, TEXTS, cache=cache).shape == (3, EMBEDDING_DIMENSION)
    assert len(fake_llm.embedding_requests) == 2  # nothing of the wrong answer was kept


def test_vectors_of_another_dimension_than_the_cached_are_an_error(fake_llm):
    cache = AnswerCache(None)
    fake_llm.behaviour[MODEL] = "dim:32"  # the model served under that name changed
    _embed(fake_llm, TEXTS[:1], cache=cache)
    fake_llm.behaviour[MODEL] = "ok"
    with pytest.raises(EmbeddingError, match=r"differing dimensions \[32, 64\]"):
        _embed(fake_llm, TEXTS, cache=cache)
    assert len(cache.vectors(MODEL, _hashes(TEXTS))) == 1  # the vectors of the other dimension were not kept


def test_a_blank_text_is_refused_before_any_request(fake_llm):
    with pytest.raises(ValueError, match="text 1 is empty"):
        _embed(fake_llm, [TEXTS[0], "  \n"])
    assert fake_llm.embedding_requests == []


def test_the_embedded_model_unstarted_has_no_embeddings():
    endpoint = resolve_endpoint(LLMConfig(), environ={})
    with pytest.raises(ValueError, match="base_url"):
        Embedder(endpoint, AnswerCache(None))


def test_a_cache_of_the_previous_schema_gains_the_embeddings_table(fake_llm, tmp_path):
    path = tmp_path / "llm-cache.sqlite"
    with AnswerCache(path) as cache:
        cache.put("old", "p@1", "m", "{}", 3, 4)
    with sqlite3.connect(path) as db:  # as the release before embeddings left it
        db.execute("DROP TABLE embeddings")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    db.close()
    with AnswerCache(path) as cache:
        assert cache.get("old") is not None
        _embed(fake_llm, TEXTS, cache=cache)
        assert len(cache.vectors(MODEL, _hashes(TEXTS))) == 3
