"""The script calls of concurrent requests share one pipeline (``gateway.limits.redis_batch``), against the
real Redis: one round trip for a turn's calls, each caller its own answer, an error only its own, a lost
connection every caller's, and exact counts across batches."""

from __future__ import annotations

import asyncio
import os

import anyio
import pytest

from gateway.limits.plan import Decision, Plan, RateLimit, Settlement
from gateway.limits.redis_backend import RedisLimiter
from gateway.limits.redis_batch import ScriptBatcher
from gateway.limits.scripts import RESERVE, sha1
from tests.fixtures.silent_port import silent_port

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


def plan(prefix: str, limit: int, key: str = "k") -> Plan:
    rate_key = f"{prefix}rl:{{acme}}:key:{key}:r"
    return Plan(os.urandom(8).hex(), (RateLimit("key", "requests", rate_key, limit, 1, f"key {key}"),), ())


async def test_calls_of_one_turn_share_one_pipeline_and_get_their_own_answers(
    redis_url: str, redis_prefix: str
) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 60_000)
    try:
        await limiter.reserve(plan(redis_prefix, 10, "warm"))  # loads the script: one call on its own
        before = limiter.batcher.batches
        decisions = await asyncio.gather(*(limiter.reserve(plan(redis_prefix, 10)) for _ in range(25)))
        assert limiter.batcher.batches - before == 1  # 25 callers, one round trip
        assert sum(decision.allowed for decision in decisions) == 10  # the limit is exact inside a batch
        used = sorted(decision.rates[0].used for decision in decisions if decision.allowed)
        assert used == list(range(1, 11))  # each caller saw the count its own reservation made
    finally:
        await limiter.close()


async def test_counts_stay_exact_across_batches_and_settles(redis_url: str, redis_prefix: str) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 60_000)
    try:
        await limiter.reserve(plan(redis_prefix, 10, "warm"))  # loads the script: one call on its own
        allowed = 0
        for _ in range(6):  # six turns of 10 concurrent callers against a limit of 33
            decisions = await asyncio.gather(*(limiter.reserve(plan(redis_prefix, 33)) for _ in range(10)))
            allowed += sum(decision.allowed for decision in decisions)
        assert allowed == 33
        assert (limiter.batcher.calls, limiter.batcher.batches) == (61, 7)  # the warm-up, then one a turn
    finally:
        await limiter.close()


async def test_settles_travel_the_same_way_and_free_what_was_over_estimated(
    redis_url: str, redis_prefix: str
) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 60_000)
    key = f"{redis_prefix}rl:{{acme}}:key:k:t"

    def tokens(weight: int) -> Plan:
        return Plan(os.urandom(8).hex(), (RateLimit("key", "tokens", key, 100, weight, "key k"),), ())

    try:
        warm = tokens(1)
        await limiter.reserve(warm)
        await limiter.settle(warm, Settlement(tokens=[(warm.rates[0], 0)]))  # loads the settle script
        estimated = [tokens(40), tokens(40)]
        assert all(d.allowed for d in await asyncio.gather(*(limiter.reserve(p) for p in estimated)))
        assert not (await limiter.reserve(tokens(40))).allowed  # 80 + 40 > 100 (the warm-up weighs 0 now)
        before = limiter.batcher.batches
        rate = estimated[0].rates[0]
        await asyncio.gather(  # both used 5 tokens: 10 of 100 are counted now
            *(limiter.settle(p, Settlement(tokens=[(rate, 5)])) for p in estimated)
        )
        assert limiter.batcher.batches - before == 1
        assert (await limiter.reserve(tokens(80))).allowed
    finally:
        await limiter.close()


async def test_a_script_error_fails_only_its_own_call(redis_url: str, redis_prefix: str) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import NoScriptError

    client = Redis.from_url(redis_url, socket_timeout=2.0)
    batcher = ScriptBatcher(client, 2.0)
    try:
        digest = await client.script_load(RESERVE)
        assert digest == sha1(RESERVE)
        rate = plan(redis_prefix, 5).rates[0]
        good = ([f"{rate.key}:z", f"{rate.key}:s"], [os.urandom(8).hex(), 60_000, 1, 0, rate.limit, 1])
        results = await asyncio.gather(
            batcher.evalsha(digest, *good),
            batcher.evalsha("0" * 40, *good),  # a digest Redis never saw: NOSCRIPT for this call alone
            batcher.evalsha(digest, *good),
            return_exceptions=True,
        )
        assert batcher.batches == 1
        assert isinstance(results[1], NoScriptError)
        first, third = results[0], results[2]
        assert isinstance(first, list) and isinstance(third, list)
        assert [int(first[0]), int(third[0])] == [1, 1]  # both allowed, counted
    finally:
        await client.aclose()


async def test_a_hung_redis_fails_every_call_of_the_batch_fast() -> None:
    from redis.asyncio import Redis

    with silent_port() as port:
        client = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=0.1, socket_connect_timeout=0.1)
        batcher = ScriptBatcher(client, 0.1)
        try:
            with anyio.fail_after(2):
                results = await asyncio.gather(
                    *(batcher.evalsha("0" * 40, ["k"], [1]) for _ in range(5)), return_exceptions=True
                )
            assert batcher.batches == 1
            assert all(isinstance(result, Exception) for result in results)
        finally:
            await client.aclose()


@pytest.mark.parametrize("cancelled", [0, 2], ids=["the-leader", "a-follower"])
async def test_a_cancelled_caller_is_skipped_and_the_others_answered(
    redis_url: str, redis_prefix: str, cancelled: int
) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 60_000)
    try:
        await limiter.reserve(plan(redis_prefix, 10, "warm"))
        tasks = [asyncio.create_task(limiter.reserve(plan(redis_prefix, 10))) for _ in range(4)]
        await asyncio.sleep(0)  # every task has queued its call; the first one is yielding before it sends
        tasks[cancelled].cancel()
        with anyio.fail_after(5):  # a batch left without its leader would hang here
            results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[cancelled], asyncio.CancelledError)
        answered = [result for n, result in enumerate(results) if n != cancelled]
        assert all(isinstance(result, Decision) and result.allowed for result in answered)
        assert limiter.batcher.batches == 2  # the warm-up call, then the other three together
    finally:
        await limiter.close()


async def test_concurrent_first_callers_load_the_script_once(redis_url: str, redis_prefix: str) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 60_000)
    loads: list[str] = []
    real_load = limiter.client.script_load

    async def counted_load(script: str) -> str:
        loads.append(script)
        return await real_load(script)

    limiter.client.script_load = counted_load  # type: ignore[method-assign,assignment]
    try:
        decisions = await asyncio.gather(*(limiter.reserve(plan(redis_prefix, 10)) for _ in range(30)))
        assert sum(decision.allowed for decision in decisions) == 10
        assert loads == [RESERVE]  # one SCRIPT LOAD, not one a caller (each would take a connection)
    finally:
        await limiter.close()
