"""Budgets in a real gateway, in process and on Redis: spend per period per key and per tenant, reserved
from an estimate before the call and settled from the usage after it, so that concurrent requests cannot
overshoot; a spent budget is OpenAI's 429 ``insufficient_quota`` with code ``budget_exceeded``.

The echo model is priced at 1 USD per token, so one request ("hello big world", 4 answer tokens) costs
exactly 7 USD and reserves its estimate (more: the prompt is estimated from its JSON).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from gateway.limits.estimate import prompt_tokens
from tests.fixtures.gateway import CHAT_MODEL
from tests.gateway.limits.conftest import StartGateway
from tests.gateway.limits.gateway_fixtures import (
    ANSWER_TOKENS,
    HELLO,
    caller,
    chat,
)

PATH = "/v1/chat/completions"
COST = 3 + ANSWER_TOKENS  # USD: the echo upstream's usage at 1 USD per token
ESTIMATE = prompt_tokens("chat", {"messages": HELLO}) + ANSWER_TOKENS
PRICES = {"prices": {CHAT_MODEL: {"input_per_1m": 1_000_000, "output_per_1m": 1_000_000}}}
SETTLED_S = 0.3
TIERS = {"default": {"requests_per_minute": 10_000, "tokens_per_minute": None}}
Gateway = Callable[..., httpx.Client]


@pytest.fixture
def gateway(start_gateway: StartGateway) -> Gateway:
    def start(**sections: Any) -> httpx.Client:
        sections.setdefault("accounting", PRICES)
        return start_gateway({"tiers": TIERS}, **sections)

    return start


def spent_in(refusal: httpx.Response) -> float:
    """The spend a budget refusal reports (reservations of requests in flight included)."""
    match = re.search(r"([0-9.]+) of ([0-9.]+) USD used", refusal.json()["error"]["message"])
    assert match, refusal.text
    return float(match.group(1))


def test_a_key_budget_is_spent_then_refused_as_insufficient_quota(gateway: Gateway) -> None:
    http = gateway()
    who = caller("acme", "gk_b", budget=30.0)
    answers = []
    for _ in range(6):
        answers.append(http.post(PATH, json=chat(), headers=who))
        time.sleep(SETTLED_S)
    codes = [a.status_code for a in answers]
    # Each request reserves ESTIMATE and settles at COST: it is let on while spent + ESTIMATE <= 30.
    expected = next(k for k in range(10) if k * COST + ESTIMATE > 30)
    assert codes == [200] * expected + [429] * (6 - expected)
    refused = answers[-1]
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "budget_exceeded")
    assert refused.headers["x-should-retry"] == "false"
    assert int(refused.headers["retry-after"]) >= 1  # until the period ends
    assert spent_in(refused) == pytest.approx(expected * COST)
    # Another key of the tenant has its own budget.
    assert http.post(PATH, json=chat(), headers=caller("acme", "gk_other", budget=30.0)).status_code == 200


def test_a_tenant_budget_covers_all_its_keys(gateway: Gateway) -> None:
    http = gateway(tenants={"acme": {"budget_usd": 3 * COST + ESTIMATE - 1}})
    served = 0
    for key in ("gk_1", "gk_2", "gk_3", "gk_4", "gk_5"):
        answer = http.post(PATH, json=chat(), headers=caller("acme", key))
        served += answer.status_code == 200
        time.sleep(SETTLED_S)
    assert served == 3
    refused = http.post(PATH, json=chat(), headers=caller("acme", "gk_6"))
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert "budget of tenant acme" in refused.json()["error"]["message"]
    assert http.post(PATH, json=chat(), headers=caller("other", "gk_1")).status_code == 200


def test_concurrent_requests_cannot_overshoot_the_budget(gateway: Gateway) -> None:
    """Waves of 32 requests at once against a 200 USD budget: the spend ends within one request's cost
    of the budget and never above it (each reservation is at least what its request costs)."""
    budget = 200.0
    http = gateway()
    who = caller("acme", "gk_rush", budget=budget)
    served = 0
    with ThreadPoolExecutor(32) as pool:
        for _ in range(4):
            codes = list(pool.map(lambda _: http.post(PATH, json=chat(), headers=who).status_code, range(32)))
            assert set(codes) <= {200, 429}
            served += codes.count(200)
            time.sleep(SETTLED_S)
    spent = served * COST
    assert spent <= budget  # every request cost at most what it reserved
    assert spent > budget - ESTIMATE - COST  # and the budget was used up to the last request that fit
    refused = http.post(PATH, json=chat(), headers=who)
    assert refused.status_code == 429 and spent_in(refused) == pytest.approx(spent)


def test_an_unpriced_model_is_not_held_back_by_a_budget(gateway: Gateway) -> None:
    http = gateway(accounting={})
    codes = [
        http.post(PATH, json=chat(), headers=caller("acme", "gk_free", budget=0.0)).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 200]


def test_a_request_no_upstream_answered_gives_its_reservation_back(gateway: Gateway) -> None:
    """A 400 from a later step (no upstream asked) costs nothing: the reservation is released."""
    http = gateway()
    who = caller("acme", "gk_rel", budget=ESTIMATE + 0.5)
    for _ in range(3):
        bad = http.post(PATH, json=chat(user="blocked"), headers=who)
        assert bad.status_code == 400
        time.sleep(SETTLED_S)
    assert http.post(PATH, json=chat(), headers=who).status_code == 200


def test_the_anonymous_tenant_budget_applies_when_set(gateway: Gateway) -> None:
    http = gateway(tenants={"anonymous": {"budget_usd": COST + ESTIMATE}})
    first = http.post(PATH, json=chat())
    time.sleep(SETTLED_S)
    second, third = http.post(PATH, json=chat()), http.post(PATH, json=chat())
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert "budget of tenant anonymous" in third.json()["error"]["message"]
