"""The run's LLM budget: the Budget object itself, then the client against the fake server with many
concurrent calls (the limits must hold however many calls wait for a slot at once)."""

import asyncio

import pytest
from conftest import SUMMARY_ASK

from digest.config import LLMConfig, resolve_endpoint
from digest.llm.client import LLMClient, LLMError
from digest.llm.policy import Budget, BudgetSpent, cost_usd
from digest.llm.prompts import load_prompt
from digest.llm.request import prompt_token_bound
from digest.llmconfig import Price
from digest.models import PaperSummary

ID = "2604.00001"
CONCURRENCY = 16
WANTED = 40  # calls asked for at once, far more than any budget below allows
PRICE = Price(prompt=3.0, completion=15.0)  # USD per million tokens


def _client(server, budget: Budget, prices: dict | None = None) -> LLMClient:
    ep = resolve_endpoint(LLMConfig(base_url=server.base_url), environ={"OPENAI_API_KEY": "k"})
    return LLMClient(ep, concurrency=CONCURRENCY, timeout=5, temperature=0, budget=budget, prices=prices)


def _run(client: LLMClient, n: int) -> tuple[int, list[str]]:
    """Ask for `n` summaries at once: (how many succeeded, the errors of the others)."""
    prompt = load_prompt("paper_summary")

    async def go():
        try:
            return await asyncio.gather(
                *(
                    client.complete(
                        "m",
                        prompt,
                        PaperSummary,
                        paper_block=f"<paper>\nTitle: Paper {i:02d}\n</paper>",
                        arxiv_id=ID,
                        **SUMMARY_ASK,
                    )
                    for i in range(n)
                ),
                return_exceptions=True,
            )
        finally:
            await client.close()

    outcomes = asyncio.run(go())
    for outcome in outcomes:
        if isinstance(outcome, Exception) and not isinstance(outcome, LLMError):
            raise outcome
    errors = [str(o) for o in outcomes if isinstance(o, LLMError)]
    return len(outcomes) - len(errors), errors


def _worst_case(request: dict) -> tuple[int, int]:
    """The prompt and completion tokens the client reserves for a request the fake server recorded."""
    return prompt_token_bound(request["messages"], request.get("response_format")), request["max_tokens"]


def _reservation(request: dict) -> int:
    """The tokens the client reserves for a request the fake server recorded."""
    return sum(_worst_case(request))


# The Budget object, no HTTP.


def test_calls_are_counted_as_reserved_and_refused_past_the_limit():
    async def go():
        budget = Budget(max_calls=2)
        first = await budget.reserve(100)
        budget.settle(first)  # a failed request: its tokens go back, the call still counts
        await budget.reserve(100)
        with pytest.raises(BudgetSpent, match="the run's budget of 2 calls is spent"):
            await budget.reserve(100)
        return budget

    budget = asyncio.run(go())
    assert budget.calls == 2 and budget.tokens_spent == 0 and budget.tokens_reserved == 100


def test_a_request_waits_for_room_held_by_requests_in_flight():
    async def go():
        budget = Budget(max_tokens=1000)
        first = await budget.reserve(600)
        second = asyncio.create_task(budget.reserve(600))
        await asyncio.sleep(0)
        assert not second.done()  # 600 held + 600 > 1000: it waits, the first may give tokens back
        with pytest.raises(BudgetSpent, match="budget of 1000 tokens is spent"):
            await budget.reserve(1001)  # more than the whole budget: refused at once
        budget.settle(first, 300)
        reservation = await asyncio.wait_for(second, 1)
        assert (budget.tokens_spent, budget.tokens_reserved, reservation.tokens) == (300, 600, 600)
        waiting = asyncio.create_task(budget.reserve(200))
        await asyncio.sleep(0)
        assert not waiting.done()
        budget.settle(reservation, 550)  # 850 spent: the waiting 200 can never fit
        with pytest.raises(BudgetSpent, match=r"1000 tokens is spent \(850 spent, the request may take 200\)"):
            await asyncio.wait_for(waiting, 1)
        assert (budget.tokens_spent, budget.tokens_reserved, budget.calls) == (850, 0, 2)

    asyncio.run(go())


def test_usd_is_reserved_and_settled_like_tokens():
    price = Price(prompt=2.0, completion=8.0)
    assert cost_usd(price, 1_000_000, 500_000) == pytest.approx(6.0)  # USD per million tokens
    assert cost_usd(None, 1_000_000, 500_000) == 0.0  # a model without a price costs nothing known

    async def go():
        budget = Budget(max_usd=0.01)
        first = await budget.reserve(5000, cost_usd(price, 1000, 400))  # 0.0052 USD at most
        with pytest.raises(BudgetSpent, match="budget of 0.01 USD is spent"):
            await budget.reserve(5000, 0.011)
        budget.settle(first, 1100, cost_usd(price, 1000, 100))  # 0.0028 USD really
        await asyncio.wait_for(budget.reserve(5000, 0.007), 1)  # fits beside what is spent
        assert budget.usd_spent == pytest.approx(0.0028) and budget.usd_reserved == pytest.approx(0.007)
        await budget.reserve(5000, 0.0)  # unpriced: no USD to hold, never refused for USD
        assert budget.calls == 3

    asyncio.run(go())


def test_the_prompt_bound_counts_bytes_not_characters():
    # A byte-level tokenizer may spend a token on each byte of a character it has not merged.
    ascii_only = prompt_token_bound([{"role": "user", "content": "a" * 300}], None)
    assert prompt_token_bound([{"role": "user", "content": "数" * 100}], None) == ascii_only  # 3 bytes each
    schema = {"type": "json_schema", "json_schema": {"name": "X", "schema": {"type": "object"}}}
    assert prompt_token_bound([{"role": "user", "content": "a" * 300}], schema) > ascii_only


# The client: concurrent calls against the fake endpoint.


@pytest.mark.parametrize("max_calls", [5, 20])  # fewer calls than slots; more, so that calls queue for a slot
def test_the_call_budget_binds_concurrent_calls_repairs_included(fake_llm, max_calls):
    fake_llm.behaviour["m"] = ["garbage", "ok"]  # the first answer needs a repair call
    client = _client(fake_llm, Budget(max_calls=max_calls))
    ok, errors = _run(client, WANTED)
    assert len(fake_llm.requests) == max_calls and client.usage.calls == max_calls
    assert ok == max_calls - 1 and len(errors) == WANTED - ok  # one call went to the garbage answer
    assert all(f"m: not called: the run's budget of {max_calls} calls is spent" in e for e in errors)


def test_the_token_budget_binds_concurrent_calls_and_is_used_up(fake_llm):
    max_tokens = 3000
    client = _client(fake_llm, Budget(max_tokens=max_tokens))
    ok, errors = _run(client, WANTED)
    spent = client.usage.prompt_tokens + client.usage.completion_tokens
    assert spent <= max_tokens
    assert ok == len(fake_llm.requests) >= 2 and errors
    assert all("not called: the run's budget of 3000 tokens is spent" in e for e in errors)
    # Calls were refused only when no room was left, not while requests in flight held it.
    assert spent + _reservation(fake_llm.requests[-1]) > max_tokens
    assert client.budget.tokens_spent == spent and client.budget.tokens_reserved == 0


def test_the_usd_budget_binds_concurrent_calls(fake_llm):
    max_usd = 0.02
    client = _client(fake_llm, Budget(max_usd=max_usd), prices={"m": PRICE})
    ok, errors = _run(client, WANTED)
    assert client.usage.cost_usd <= max_usd
    assert ok == len(fake_llm.requests) >= 2 and errors
    assert all("not called: the run's budget of 0.02 USD is spent" in e for e in errors)
    assert client.usage.cost_usd + cost_usd(PRICE, *_worst_case(fake_llm.requests[-1])) > max_usd  # no room left


def test_a_usd_budget_does_not_stop_an_unpriced_model(fake_llm):
    client = _client(fake_llm, Budget(max_usd=0.01), prices={"other": PRICE})
    ok, errors = _run(client, 3)
    assert (ok, errors, client.usage.cost_usd) == (3, [], 0.0)


def test_a_repair_call_reserves_its_tokens_like_any_request(fake_llm):
    fake_llm.behaviour["m"] = ["garbage", "ok"]
    _run(_client(fake_llm, Budget()), 1)  # learn the sizes of the first request and its repair
    first, repair = fake_llm.requests
    assert "not valid" in repair["messages"][-1]["content"]

    fake_llm.requests.clear()
    fake_llm.behaviour["m"] = ["garbage", "ok"]
    budget = Budget(max_tokens=_reservation(first))  # room for the first request, not for its repair
    ok, errors = _run(_client(fake_llm, budget), 1)
    assert ok == 0 and len(fake_llm.requests) == 1
    assert f"not called: the run's budget of {budget.max_tokens} tokens is spent" in errors[0]

    fake_llm.requests.clear()
    fake_llm.behaviour["m"] = ["garbage", "ok"]
    client = _client(fake_llm, Budget(max_tokens=_reservation(first) + _reservation(repair)))
    ok, errors = _run(client, 1)
    assert (ok, errors, len(fake_llm.requests)) == (1, [], 2)
    assert client.budget.tokens_spent == client.usage.prompt_tokens + client.usage.completion_tokens


def test_a_failed_request_gives_its_tokens_back_and_counts_as_a_call(fake_llm, monkeypatch):
    monkeypatch.setattr("digest.llm.policy.BACKOFF_BASE", 0)
    fake_llm.behaviour["m"] = ["error", "ok"]
    client = _client(fake_llm, Budget(max_calls=2, max_tokens=10_000))
    ok, errors = _run(client, 1)  # the retry is the second call of the budget
    assert (ok, errors, len(fake_llm.requests), client.usage.failed_calls) == (1, [], 2, 1)
    assert client.budget.tokens_spent == client.usage.prompt_tokens + client.usage.completion_tokens > 0
    assert client.budget.tokens_reserved == 0
