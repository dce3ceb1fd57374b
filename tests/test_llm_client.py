"""The OpenAI-compatible adapter against the fake server: request shapes, repair, failures."""

import asyncio
import time

import pytest
from conftest import SUMMARY_ASK

from digest.config import LLMConfig, resolve_endpoint
from digest.llm.client import ContextOverflow, LLMClient, LLMError
from digest.llm.policy import Budget
from digest.llm.prompts import load_prompt
from digest.llm.request import extract_json, parse_answer
from digest.models import PaperSummary

ID = "2604.00001"


def _client(server, mode="json_schema"):
    ep = resolve_endpoint(LLMConfig(base_url=server.base_url, structured_output=mode), environ={"OPENAI_API_KEY": "k"})
    return LLMClient(ep, concurrency=2, timeout=5, temperature=0)


def _errors(client, blocks: list[str]) -> list[str]:
    """The error of each summary request, in order (calls that succeed add nothing)."""

    async def go():
        out = []
        for block in blocks:
            try:
                await client.complete(
                    "m", load_prompt("paper_summary"), PaperSummary, paper_block=block, arxiv_id=ID, **SUMMARY_ASK
                )
            except LLMError as exc:
                out.append(str(exc))
        await client.close()
        return out

    return asyncio.run(go())


def _summary(client, model="m"):
    async def go():
        try:
            return await client.complete(
                model,
                load_prompt("paper_summary"),
                PaperSummary,
                paper_block="<paper>\nTitle: A Test Paper\n</paper>",
                arxiv_id=ID,
                **SUMMARY_ASK,
            )
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


def test_garbage_gets_one_repair_call_then_an_error(fake_llm):  # L7
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
    errors = _errors(_client(fake_llm), [f"<paper>Title: T{i}</paper>" for i in range(6)])
    assert len(errors) == 6 and "exceeds the 60 s cap" in errors[0]
    assert len(fake_llm.requests) == 3  # one try each until 3 in a row failed; then no call at all
    assert all("not called" in e for e in errors[3:])


def test_calls_queued_for_a_slot_meet_an_open_breaker(fake_llm):  # L2, under concurrency
    fake_llm.behaviour["m"] = "429:3600"
    client = _client(fake_llm)  # 2 requests at a time

    async def go():
        blocks = [f"<paper>Title: T{i}</paper>" for i in range(12)]
        calls = [
            client.complete("m", load_prompt("paper_summary"), PaperSummary, paper_block=b, arxiv_id=ID, **SUMMARY_ASK)
            for b in blocks
        ]
        try:
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await client.close()

    errors = asyncio.run(go())
    assert all(isinstance(e, LLMError) for e in errors)
    assert len(fake_llm.requests) <= 4  # the breaker opened after 3 failures; queued calls were not sent
    assert sum("not called" in str(e) for e in errors) >= 8


@pytest.mark.parametrize(
    "mode, message",
    [
        ("refusal", "refused"),
        ("nochoices", "no choices"),
        ("nullcontent", "empty answer"),
        ("length", "cut off"),
        ("html200", "OpenAI format"),
        ("inband", "reported an error"),
    ],
)
def test_broken_answers_end_as_clear_errors(fake_llm, mode, message):  # L6, L8, L9
    fake_llm.behaviour["m"] = mode
    with pytest.raises(LLMError, match=message):
        _summary(_client(fake_llm))
    # never retried verbatim; a cut-off answer asks once for its missing parts, and that is cut off too
    assert len(fake_llm.requests) == (2 if mode == "length" else 1)
    assert fake_llm.requests[-1]["messages"][-1]["content"].startswith(
        "Your answer was cut off" if mode == "length" else "<paper>"
    )


def test_think_blocks_are_stripped(fake_llm):  # L10
    fake_llm.behaviour["m"] = "think"
    done = _summary(_client(fake_llm))
    assert "THINK-MARKER" not in done.value.summary


def test_budget_stops_calls(fake_llm):  # L14
    ep = resolve_endpoint(LLMConfig(base_url=fake_llm.base_url), environ={"OPENAI_API_KEY": "k"})
    client = LLMClient(ep, concurrency=1, timeout=5, temperature=0, budget=Budget(max_calls=1))
    prompt = load_prompt("paper_summary")

    async def two():
        await client.complete(
            "m", prompt, PaperSummary, paper_block="<paper>Title: One</paper>", arxiv_id=ID, **SUMMARY_ASK
        )
        try:
            await client.complete(
                "m", prompt, PaperSummary, paper_block="<paper>Title: Two</paper>", arxiv_id=ID, **SUMMARY_ASK
            )
        finally:
            await client.close()

    with pytest.raises(LLMError, match="budget of 1 calls is spent"):
        asyncio.run(two())
    assert len(fake_llm.requests) == 1


def test_answers_are_cleaned_before_validation():
    text = '<think>plan {not json}</think>\n```json\n{"arxiv_id": "1", "title": "T", "summary": "a summary long enough"}\n```'
    assert extract_json(text) == '{"arxiv_id": "1", "title": "T", "summary": "a summary long enough"}'
    assert parse_answer(text, PaperSummary).summary == "a summary long enough"
    multiline = '{"arxiv_id": "1", "title": "T", "summary": "line one\nline two of the summary"}'
    assert parse_answer(multiline, PaperSummary).summary.startswith("line one")
    with pytest.raises(LLMError, match="schema"):
        parse_answer('{"arxiv_id": "1", "title": "T", "summary": 3}', PaperSummary)
    with pytest.raises(LLMError, match="schema"):
        parse_answer('{"arxiv_id": "1", "title": "T", "summary": ""}', PaperSummary)  # empty answers are not answers
    with pytest.raises(LLMError, match="not valid JSON"):
        parse_answer('{"arxiv_id": "1", "title": "T", "summary": "unterminated}', PaperSummary)


def test_tex_backslashes_that_start_no_json_escape_are_kept():
    # The embedded model copied this demo-day title with single backslashes, which JSON rejects.
    text = r'{"arxiv_id": "2604.26926", "title": "Remove the $\ln\ln T$ Term", "summary": "We drop the \ln\ln T term."}'
    summary = parse_answer(text, PaperSummary)
    assert summary.title == r"Remove the $\ln\ln T$ Term" and summary.summary == r"We drop the \ln\ln T term."
    escaped = r'{"arxiv_id": "1", "title": "a \\alpha and a \" quote", "summary": "the \beta of \frac{a}{b} kept"}'
    assert parse_answer(escaped, PaperSummary).title == r'a \alpha and a " quote'
    assert parse_answer(escaped, PaperSummary).summary == r"the \beta of \frac{a}{b} kept"


def test_grammar_requests_carry_the_bounded_schema(fake_llm):
    _summary(_client(fake_llm, "json_object"))
    assert fake_llm.requests[0]["response_format"]["schema"]["title"] == "PaperSummary"


def _review(client, check=None, **shape):
    from digest.llm.bounds import Shape
    from digest.llmconfig import DepthConfig
    from digest.models import PaperReview

    async def go():
        try:
            return await client.complete(
                "m",
                load_prompt("paper_review"),
                PaperReview,
                shape=Shape.of(DepthConfig().review, **shape),
                check=check,
                paper_block=f"<paper>\narXiv id: {ID}\nTitle: A title\nAbstract: We show things. More.\n</paper>",
                arxiv_id=ID,
                date="2026-04-30",
                points=3,
                words=70,
            )
        finally:
            await client.close()

    return asyncio.run(go())


def test_a_cut_off_answer_keeps_its_complete_parts_and_asks_for_the_rest(fake_llm):
    fake_llm.behaviour["m"] = ["length", "ok"]
    done = _review(_client(fake_llm))
    first, rest = fake_llm.requests
    asked = rest["response_format"]["json_schema"]["schema"]["properties"]
    kept = set(type(done.value).model_fields) - set(asked)
    assert kept and asked, "the cut-off answer kept some parts and asked for the others"
    assert "cut off at max_tokens" in rest["messages"][-1]["content"]
    assert rest["messages"][-2]["content"] == first_answer(fake_llm, first)
    assert all(len(done.value.parts()[p]) >= 1 for p in done.value.parts())  # every part is there
    smaller = rest["response_format"]["json_schema"]["schema"]
    assert all(p.get("maxItems", 1) <= 1 for p in smaller["properties"].values())  # half of 3 points


def first_answer(fake_llm, request):
    """The text the fake server cut off for `request` (the "length" mode sends the first half)."""
    import json

    from fake_llm import instance

    schema = request["response_format"]["json_schema"]["schema"]
    full = json.dumps(instance(schema, schema, request["messages"][-1]["content"]))
    return full[: len(full) // 2]


def test_a_check_sends_the_model_back_once_with_its_reason(fake_llm, tmp_path):
    from digest.llm.cache import AnswerCache
    from digest.llm.request import Verdict

    seen = []

    def check(review):
        seen.append(review)
        return Verdict("2 of 18 evidence quotes are not in the abstract", retry=True)

    cache = AnswerCache(tmp_path / "cache.sqlite")
    ep = resolve_endpoint(LLMConfig(base_url=fake_llm.base_url), environ={"OPENAI_API_KEY": "k"})
    done = _review(LLMClient(ep, 2, timeout=5, temperature=0, cache=cache), check)
    assert done.retried and len(fake_llm.requests) == 2 and len(seen) == 1  # the second answer stands
    assert "2 of 18 evidence quotes are not in the abstract" in fake_llm.requests[1]["messages"][-1]["content"]
    again = _review(LLMClient(ep, 2, timeout=5, temperature=0, cache=cache), check)
    assert again.cached and again.retried and len(fake_llm.requests) == 2  # a cached answer is final
    assert len(seen) == 1


def test_a_check_that_cannot_be_mended_is_not_retried(fake_llm):
    from digest.llm.request import Verdict

    done = _review(_client(fake_llm), lambda review: Verdict("it names another paper", retry=False))
    assert not done.retried and len(fake_llm.requests) == 1


def test_a_failed_retry_keeps_the_first_answer(fake_llm):
    from digest.llm.request import Verdict

    fake_llm.behaviour["m"] = ["ok", "garbage"]
    done = _review(_client(fake_llm), lambda review: Verdict("uncited", retry=True))
    assert done.retried and done.value.summary_of_content


def test_context_overflow_is_not_resent(fake_llm):  # L4
    fake_llm.behaviour["m"] = "ctx400"
    with pytest.raises(ContextOverflow, match="longer than the model's context window"):
        _summary(_client(fake_llm))
    assert len(fake_llm.requests) == 1


def test_a_server_that_silently_cut_the_prompt_is_caught_and_reported_once(fake_llm, caplog):  # L5
    fake_llm.behaviour["m"] = "truncating"
    long_block = "<paper>\nTitle: A Test Paper\nAbstract: " + "We study long inputs. " * 200 + "\n</paper>"
    outcomes = _errors(_client(fake_llm), [long_block] * 2)
    assert len(outcomes) == 2 and "read only 40 prompt tokens" in outcomes[0]
    assert sum("read only 40 prompt tokens" in r.message for r in caplog.records) == 1  # warned once
    fake_llm.behaviour["m"] = "ok"
    assert _summary(_client(fake_llm)).value.summary  # a short prompt with an honest count passes


def test_a_usage_object_without_counts_is_no_usage_reported(fake_llm):  # L8: a server's partial usage
    fake_llm.behaviour["m"] = "nocounts"
    client = _client(fake_llm)
    done = _summary(client)
    assert done.value.summary.startswith("Fake summary") and client.usage.prompt_tokens == 0
