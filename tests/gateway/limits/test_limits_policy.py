"""The limits policy in a real gateway (HTTP, the echo upstream), in process and on Redis: per-key limits
by tier, tenant limits over all keys, the anonymous principal, token limits settled from the actual
usage, OpenAI's headers on answers and refusals, streams, and the switch that turns it all off."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.limits.estimate import prompt_tokens
from gateway.telemetry import metrics
from tests.gateway.limits.conftest import StartGateway
from tests.gateway.limits.gateway_fixtures import (
    ANSWER_TOKENS,
    HELLO,
    caller,
    chat,
)

TIERS = {
    "default": {"requests_per_minute": 3, "tokens_per_minute": None},
    "premium": {"requests_per_minute": 5, "tokens_per_minute": None},
}
PATH = "/v1/chat/completions"
SETTLED_S = 0.3  # the record hook settles once the last byte went out, Redis in a task of its own
Gateway = Callable[..., httpx.Client]


@pytest.fixture
def gateway(start_gateway: StartGateway) -> Gateway:
    def start(**sections: Any) -> httpx.Client:
        return start_gateway({"tiers": TIERS, **sections.pop("limits", {})}, **sections)

    return start


def statuses(http: httpx.Client, n: int, headers: dict[str, str], **body: Any) -> list[int]:
    return [http.post(PATH, json=chat(**body), headers=headers).status_code for _ in range(n)]


def test_a_key_is_limited_by_its_tier_with_openai_headers(gateway: Gateway) -> None:
    http = gateway()
    alice = caller("acme", "gk_alice")
    answers = [http.post(PATH, json=chat(), headers=alice) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers["x-ratelimit-limit-requests"] == "3"
    assert answers[0].headers["x-ratelimit-reset-requests"].endswith("s")  # 59.99s, 1m0s...
    refused = http.post(PATH, json=chat(), headers=alice)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert "requests per minute of key gk_alice" in error["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert 0 < int(refused.headers["retry-after-ms"]) <= 60_000
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # Another key of the same tenant has its own count; a premium key its tier's limit.
    assert statuses(http, 3, caller("acme", "gk_bob")) == [200] * 3
    premium = statuses(http, 6, caller("acme", "gk_carol", tier="premium"))
    assert premium == [200] * 5 + [429]


def test_an_unknown_tier_gets_the_default_tier(gateway: Gateway) -> None:
    http = gateway()
    assert statuses(http, 4, caller("acme", "gk_x", tier="platinum")) == [200] * 3 + [429]


def test_an_oidc_subject_is_limited_like_a_key(gateway: Gateway) -> None:
    http = gateway()
    assert statuses(http, 4, caller("acme", None, sub="user-1")) == [200] * 3 + [429]
    assert statuses(http, 1, caller("acme", None, sub="user-2")) == [200]


def test_a_tenant_limit_covers_all_its_keys(gateway: Gateway) -> None:
    http = gateway(tenants={"acme": {"requests_per_minute": 4}})
    assert statuses(http, 3, caller("acme", "gk_a")) == [200] * 3
    first = http.post(PATH, json=chat(), headers=caller("acme", "gk_b"))
    assert first.status_code == 200
    # The tenant's limit has less left (0) than gk_b's (2): the headers describe the tighter one.
    assert first.headers["x-ratelimit-limit-requests"] == "4"
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    refused = http.post(PATH, json=chat(), headers=caller("acme", "gk_b"))
    assert refused.status_code == 429
    assert "requests per minute of tenant acme" in refused.json()["error"]["message"]
    # Another tenant, with no tenant limit of its own, is not held back by acme's.
    assert statuses(http, 3, caller("other", "gk_c")) == [200] * 3


def test_anonymous_callers_have_no_key_limits(gateway: Gateway) -> None:
    http = gateway()
    answers = [http.post(PATH, json=chat()) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert "x-ratelimit-limit-requests" not in answers[0].headers


def test_the_anonymous_tenant_limit_applies_when_set(gateway: Gateway) -> None:
    http = gateway(tenants={"anonymous": {"requests_per_minute": 2}})
    answers = [http.post(PATH, json=chat()) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["x-ratelimit-limit-requests"] == "2"
    assert "tenant anonymous" in answers[2].json()["error"]["message"]


def test_tokens_are_reserved_and_settled_from_the_upstream_usage(gateway: Gateway) -> None:
    limit = 60
    http = gateway(limits={"tiers": {"default": {"requests_per_minute": 100, "tokens_per_minute": limit}}})
    estimate = prompt_tokens("chat", {"messages": HELLO}) + ANSWER_TOKENS
    actual = 3 + ANSWER_TOKENS  # the echo upstream counts words
    who = caller("acme", "gk_t")
    first = http.post(PATH, json=chat(), headers=who)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] == str(limit)
    assert first.headers["x-ratelimit-remaining-tokens"] == str(limit - estimate)
    time.sleep(SETTLED_S)
    second = http.post(PATH, json=chat(), headers=who)
    # The first request now counts what it used, not its estimate.
    assert second.headers["x-ratelimit-remaining-tokens"] == str(limit - actual - estimate)
    answers = [http.post(PATH, json=chat(), headers=who) for _ in range(10)]
    refused = next(a for a in answers if a.status_code == 429)
    assert "tokens per minute of key gk_t" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1


def test_a_request_larger_than_the_token_limit_is_refused_for_good(gateway: Gateway) -> None:
    http = gateway(limits={"tiers": {"default": {"requests_per_minute": 100, "tokens_per_minute": 50}}})
    refused = http.post(PATH, json=chat(max_tokens=100), headers=caller("acme", "gk_big"))
    assert refused.status_code == 429
    assert refused.headers["x-should-retry"] == "false"
    assert "Request too large for tokens per minute" in refused.json()["error"]["message"]
    # Without max_tokens the reservation is capped at the limit: the request is served.
    assert http.post(PATH, json=chat(max_tokens=None), headers=caller("acme", "gk_big")).status_code == 200


def test_streams_carry_the_headers_and_settle_their_usage(gateway: Gateway) -> None:
    limit = 60
    http = gateway(limits={"tiers": {"default": {"requests_per_minute": 100, "tokens_per_minute": limit}}})
    estimate = prompt_tokens("chat", {"messages": HELLO}) + ANSWER_TOKENS
    who = caller("acme", "gk_s")
    with http.stream("POST", PATH, json=chat(stream=True), headers=who) as stream:
        assert stream.status_code == 200
        assert stream.headers["x-ratelimit-remaining-requests"] == "99"
        assert stream.headers["x-ratelimit-remaining-tokens"] == str(limit - estimate)
        assert stream.read().endswith(b"data: [DONE]\n\n")
    time.sleep(SETTLED_S)
    after = http.post(PATH, json=chat(), headers=who)
    assert after.headers["x-ratelimit-remaining-tokens"] == str(limit - (3 + ANSWER_TOKENS) - estimate)


def test_refusals_are_counted_in_prometheus(gateway: Gateway) -> None:
    http = gateway(tenants={"acme": {"requests_per_minute": 1}})
    series = metrics.LIMIT_REJECTIONS.labels("requests", "tenant")
    before = series._value.get()
    assert statuses(http, 3, caller("acme", "gk_m")) == [200, 429, 429]
    assert series._value.get() == before + 2


def test_limits_switched_off_limit_nothing(gateway: Gateway) -> None:
    http = gateway(limits={"enabled": False})
    answers = [http.post(PATH, json=chat(), headers=caller("acme", "gk_off")) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert "x-ratelimit-limit-requests" not in answers[0].headers


def test_a_tenant_token_limit_covers_all_its_keys(gateway: Gateway) -> None:
    estimate = prompt_tokens("chat", {"messages": HELLO}) + ANSWER_TOKENS
    actual = 3 + ANSWER_TOKENS
    http = gateway(tenants={"acme": {"tokens_per_minute": 2 * estimate}})
    answers = []
    for key in ("gk_1", "gk_2", "gk_3", "gk_4"):
        answers.append(http.post(PATH, json=chat(), headers=caller("acme", key)))
        time.sleep(SETTLED_S)
    # Each settles at its actual tokens: k of them and one more reservation fit while k*7 + 16 <= 32.
    served = next(k for k in range(10) if k * actual + estimate > 2 * estimate)
    assert [a.status_code for a in answers] == [200] * served + [429] * (4 - served)
    assert answers[0].headers["x-ratelimit-limit-tokens"] == str(2 * estimate)
    assert "x-ratelimit-limit-requests" in answers[0].headers  # the keys' own requests limit
    assert "tokens per minute of tenant acme" in answers[-1].json()["error"]["message"]
