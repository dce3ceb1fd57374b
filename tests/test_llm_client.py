"""The OpenAI-compatible adapter against the fake server: request shapes, repair, failures."""

import asyncio
import time

import pytest

from digest.config import LLMConfig, resolve_endpoint
from digest.llm.client import LLMClient, LLMError, extract_json, parse_answer
from digest.llm.policy import Budget
from digest.llm.prompts import load_prompt
from digest.models import PaperSummary


def _client(server, mode="json_schema"):
    ep = resolve_endpoint(LLMConfig(base_url=server.base_url, structured_output=mode), environ={"OPENAI_API_KEY": "k"})
    return LLMClient(ep, concurrency=2, timeout=5, temperature=0)


def _summary(client, model="m"):
    async def go():
        try:
            return await client.complete(model, load_prompt("paper_summary"), PaperSummary,
                                         paper_block="<paper>\nTitle: A Test Paper\n</paper>")
        finally:
            await client.close()
    return asyncio.run(go())


def test_json_schema_mode_sends_the_schema_and_validates(fake_llm):
    done = _summary(_client(fake_llm))
    assert done.value.summary == "Fake summary about A Test Paper."
    fmt = fake_llm.requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["title"] == "PaperSummary"
    assert done.prompt_tokens > 0


def test_json_object_mode_is_llama_cpp_style(fake_llm):
    _summary(_client(fake_llm, "json_object"))
    fmt = fake_llm.requests[0]["response_format"]
    assert fmt["type"] == "json_object" and fmt["schema"]["title"] == "PaperSummary"


def test_garbage_gets_one_repair_call_then_an_error(fake_llm):
    fake_llm.behaviour["m"] = "garbage"
    with pytest.raises(LLMError, match="no JSON object"):
        _summary(_client(fake_llm))
    assert len(fake_llm.requests) == 2
    assert "not valid" in fake_llm.requests[1]["messages"][-1]["content"]


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr("digest.llm.policy.BACKOFF_BASE", 0)


def test_server_errors_are_retried_then_reported(fake_llm, no_backoff):  # L3
    fake_llm.behaviour["m"] = "error"
    client = _client(fake_llm)
    with pytest.raises(LLMError, match="server error.*after 3 attempts"):
        _summary(client)
    assert len(fake_llm.requests) == 3 and client.usage.failed_calls == 3


def test_short_retry_after_is_honoured(fake_llm):  # L1
    fake_llm.behaviour["m"] = ["429:1", "ok"]
    start = time.monotonic()
    done = _summary(_client(fake_llm))
    assert done.value.summary.startswith("Fake summary")
    assert len(fake_llm.requests) == 2 and time.monotonic() - start >= 1.0


def test_long_retry_after_gives_up_and_the_breaker_opens(fake_llm):  # L2
    fake_llm.behaviour["m"] = "429:3600"
    client = _client(fake_llm)

    async def many():
        prompt = load_prompt("paper_summary")
        out = []
        for i in range(6):
            try:
                await client.complete("m", prompt, PaperSummary, paper_block=f"<paper>Title: T{i}</paper>")
            except LLMError as exc:
                out.append(str(exc))
        await client.close()
        return out

    errors = asyncio.run(many())
    assert len(errors) == 6 and "exceeds the 60 s cap" in errors[0]
    assert len(fake_llm.requests) == 3  # one try each until 3 in a row failed; then no call at all
    assert all("not called" in e for e in errors[3:])


@pytest.mark.parametrize("mode, message", [
    ("refusal", "refused"), ("nochoices", "no choices"), ("nullcontent", "empty answer"),
    ("length", "cut off"), ("html200", "OpenAI format"), ("inband", "reported an error"),
])
def test_broken_answers_end_as_clear_errors(fake_llm, mode, message):  # L6, L8, L9
    fake_llm.behaviour["m"] = mode
    with pytest.raises(LLMError, match=message):
        _summary(_client(fake_llm))
    assert len(fake_llm.requests) == 1  # never retried verbatim


def test_think_blocks_are_stripped(fake_llm):  # L10
    fake_llm.behaviour["m"] = "think"
    done = _summary(_client(fake_llm))
    assert "THINK-MARKER" not in done.value.summary


def test_budget_stops_calls(fake_llm):  # L14
    ep = resolve_endpoint(LLMConfig(base_url=fake_llm.base_url), environ={"OPENAI_API_KEY": "k"})
    client = LLMClient(ep, concurrency=1, timeout=5, temperature=0, budget=Budget(max_calls=1))
    prompt = load_prompt("paper_summary")

    async def two():
        await client.complete("m", prompt, PaperSummary, paper_block="<paper>Title: One</paper>")
        try:
            await client.complete("m", prompt, PaperSummary, paper_block="<paper>Title: Two</paper>")
        finally:
            await client.close()

    with pytest.raises(LLMError, match="budget of 1 calls is spent"):
        asyncio.run(two())
    assert len(fake_llm.requests) == 1


def test_answers_are_cleaned_before_validation():
    text = "<think>plan {not json}</think>\n```json\n{\"summary\": \"a summary long enough\"}\n```"
    assert extract_json(text) == '{"summary": "a summary long enough"}'
    assert parse_answer(text, PaperSummary).summary == "a summary long enough"
    assert parse_answer('{"summary": "line one\nline two of the summary"}', PaperSummary).summary.startswith("line one")
    with pytest.raises(LLMError, match="schema"):
        parse_answer('{"summary": 3}', PaperSummary)
    with pytest.raises(LLMError, match="schema"):
        parse_answer('{"summary": ""}', PaperSummary)  # empty answers are not answers
    with pytest.raises(LLMError, match="not valid JSON"):
        parse_answer('{"summary": "unterminated}', PaperSummary)


def test_bounded_schema_caps_lists_for_grammar_servers(fake_llm):
    from digest.llm.client import MAX_LIST_ITEMS, bounded_schema
    from digest.models import ResearchDirections

    directions = bounded_schema(ResearchDirections.model_json_schema())
    assert all(p["maxItems"] == MAX_LIST_ITEMS for p in directions["properties"].values())
    assert "maxItems" not in ResearchDirections.model_json_schema()["properties"]["novel_directions"]  # a copy
    _summary(_client(fake_llm, "json_object"))
    assert fake_llm.requests[0]["response_format"]["schema"]["title"] == "PaperSummary"
