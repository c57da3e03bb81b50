"""Both limiters, in process and Redis, against the same cases: a sliding window that counts exactly,
checks that count all limits or none, token reservations settled with the actual usage, budgets that
concurrent requests cannot overshoot, and requests that can never fit."""

from __future__ import annotations

import asyncio
import os

import anyio
import pytest

from gateway.limits.plan import NEVER, BudgetLimit, Kind, Plan, RateLimit, Scope, Settlement
from tests.gateway.limits.conftest import SHORT_WINDOW_MS, Backend

pytestmark = pytest.mark.anyio


def rate(
    backend: Backend, name: str, limit: int, weight: int = 1, kind: Kind = "requests", scope: Scope = "key"
) -> RateLimit:
    return RateLimit(scope, kind, f"{backend.prefix}rl:{{t}}:{name}", limit, weight, f"key {name}")


def budget(backend: Backend, name: str, usd_nano: int, estimate: int) -> BudgetLimit:
    return BudgetLimit("key", f"{backend.prefix}budget:{{t}}:{name}", usd_nano, estimate, 60_000, 30.0)


def plan(*rates: RateLimit, budgets: tuple[BudgetLimit, ...] = ()) -> Plan:
    return Plan(os.urandom(8).hex(), rates, budgets)


async def test_requests_limit_counts_exactly_and_says_when_to_retry(backend: Backend) -> None:
    limit = rate(backend, "k", 5)
    decisions = [await backend.reserve(plan(limit)) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.rates[0].used for d in decisions] == [1, 2, 3, 4, 5, 5, 5]
    refused = decisions[5].rates[0]
    # The oldest entry leaves the window first: that is when the 6th request fits.
    assert 0 < refused.retry_ms <= SHORT_WINDOW_MS
    assert 0 < refused.reset_ms <= SHORT_WINDOW_MS
    assert decisions[0].rates[0].retry_ms == 0


async def test_entries_leave_the_window(backend: Backend) -> None:
    limit = rate(backend, "k", 2)
    for _ in range(2):
        assert (await backend.reserve(plan(limit))).allowed
    refused = await backend.reserve(plan(limit))
    assert not refused.allowed
    await anyio.sleep((refused.rates[0].retry_ms + 50) / 1000)
    again = await backend.reserve(plan(limit))
    assert again.allowed and again.rates[0].used == 1


async def test_all_limits_or_none_are_counted(backend: Backend) -> None:
    key, tenant = rate(backend, "k", 10), rate(backend, "tenant", 2, scope="tenant")
    assert (await backend.reserve(plan(key, tenant))).allowed
    assert (await backend.reserve(plan(key, tenant))).allowed
    refused = await backend.reserve(plan(key, tenant))
    assert not refused.allowed
    assert refused.rates[0].retry_ms == 0 and refused.rates[1].retry_ms > 0  # the tenant's limit refused
    # The key's count did not grow with the refused request: 2 counted, the next one makes 3.
    assert (await backend.reserve(plan(key))).rates[0].used == 3


async def test_tokens_are_reserved_then_settled_with_the_actual_usage(backend: Backend) -> None:
    tokens = rate(backend, "k", 1000, weight=600, kind="tokens")
    first_plan = plan(tokens)
    first = await backend.reserve(first_plan)
    assert first.allowed and first.rates[0].used == 600
    assert not (await backend.reserve(plan(tokens))).allowed  # 600 + 600 > 1000
    await backend.settle(first_plan, first, Settlement(tokens=[(tokens, 100)]))
    second = await backend.reserve(plan(tokens))
    assert second.allowed and second.rates[0].used == 700  # 100 actual + 600 reserved


async def test_a_settlement_above_the_estimate_holds_back_later_requests(backend: Backend) -> None:
    tokens = rate(backend, "k", 1000, weight=100, kind="tokens")
    first_plan = plan(tokens)
    first = await backend.reserve(first_plan)
    await backend.settle(first_plan, first, Settlement(tokens=[(tokens, 950)]))
    refused = await backend.reserve(plan(tokens))
    assert not refused.allowed and refused.rates[0].used == 950


async def test_a_request_larger_than_the_limit_never_fits(backend: Backend) -> None:
    decision = await backend.reserve(plan(rate(backend, "k", 100, weight=101, kind="tokens")))
    assert not decision.allowed and decision.rates[0].retry_ms == NEVER
    assert decision.rates[0].used == 0


async def test_budget_reserves_then_settles(backend: Backend) -> None:
    spend = budget(backend, "b", usd_nano=1000, estimate=400)
    first_plan = plan(budgets=(spend,))
    first = await backend.reserve(first_plan)
    second = await backend.reserve(plan(budgets=(spend,)))
    third = await backend.reserve(plan(budgets=(spend,)))
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert third.over_budget == [True] and third.spent == [800]
    await backend.settle(first_plan, first, Settlement(budgets=[(spend, 150 - 400)]))
    fourth = await backend.reserve(plan(budgets=(spend,)))
    assert fourth.allowed and fourth.spent == [150 + 400 + 400]


async def test_concurrent_reservations_cannot_overshoot_the_budget(backend: Backend) -> None:
    """100 requests at once, each reserving 7: exactly 14 fit in 100, and the spend never passes it."""
    spend = budget(backend, "b", usd_nano=100, estimate=7)
    decisions = await asyncio.gather(*(backend.reserve(plan(budgets=(spend,))) for _ in range(100)))
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 14
    assert max(d.spent[0] for d in decisions) == 98


async def test_concurrent_requests_share_one_exact_requests_limit(backend: Backend) -> None:
    limit = rate(backend, "k", 25)
    decisions = await asyncio.gather(*(backend.reserve(plan(limit)) for _ in range(80)))
    assert sum(d.allowed for d in decisions) == 25


async def test_a_late_settlement_of_an_entry_that_left_the_window_changes_nothing(backend: Backend) -> None:
    tokens = rate(backend, "k", 1000, weight=300, kind="tokens")
    first_plan = plan(tokens)
    first = await backend.reserve(first_plan)
    await anyio.sleep((SHORT_WINDOW_MS + 100) / 1000)
    await backend.settle(first_plan, first, Settlement(tokens=[(tokens, 900)]))
    later = await backend.reserve(plan(tokens))
    assert later.allowed and later.rates[0].used == 300
