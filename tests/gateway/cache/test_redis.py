"""The L2 on the real Redis (a key prefix of each test's own, removed afterwards): entries with their
TTL, shared by two gateways; and the faults: a Redis that refuses connections or never answers is
skipped within its timeout, logged once, tried again after the pause, and serving goes on on the L1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from gateway.cache.entry import Entry
from gateway.cache.redis_store import RedisStore
from gateway.telemetry import metrics
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream, free_port
from tests.fixtures.silent_port import silent_port
from tests.gateway.cache.conftest import StartCached

GREEDY: dict[str, Any] = {"model": CHAT_MODEL, "messages": USER, "temperature": 0}


@pytest.mark.anyio
@pytest.mark.redis
async def test_entries_are_stored_under_the_prefix_with_their_ttl(redis_url: str, redis_prefix: str) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix, ttl_s=120, timeout_s=1.0, retry_s=5.0)
    entry = Entry("stream", (b'data: {"x":1}\n\n', b"data: [DONE]\n\n"), {"completion_tokens": 2})
    try:
        assert await store.get("k1") is None
        store.put_many([("k1", entry), ("k2", Entry("embedding", (b"[1.0]",), None))])
        await store.drain()
        assert await store.get_many(["k1", "nope", "k2"]) == [entry, None, Entry("embedding", (b"[1.0]",))]
    finally:
        await store.close()
    client = redis.Redis.from_url(redis_url)
    try:
        assert 110 < client.ttl(f"{redis_prefix}k1") <= 120
    finally:
        client.close()


@pytest.mark.redis
def test_two_gateways_share_the_l2(
    start_cached: StartCached, redis_url: str, redis_prefix: str, echo_upstream: EchoUpstream
) -> None:
    cache = {"l2_prefix": redis_prefix, "redis_timeout_seconds": 1.0}
    one = start_cached(cache=cache, redis_url=redis_url)
    two = start_cached(cache=cache, redis_url=redis_url)
    first = one.http.post("/v1/chat/completions", json=GREEDY)
    assert first.headers["x-genai-cache"] == "miss"
    deadline = time.monotonic() + 5
    while True:  # the store to Redis runs off the request path
        answer = two.http.post("/v1/chat/completions", json=GREEDY)
        if answer.headers["x-genai-cache"] == "hit" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert answer.headers["x-genai-cache"] == "hit" and answer.json() == first.json()
    assert two.record(answer).cache_level == "l2"
    again = two.http.post("/v1/chat/completions", json=GREEDY)  # the L2 hit filled the L1
    assert two.record(again).cache_level == "l1"


def test_a_closed_redis_port_leaves_serving_on_the_l1(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    gateway = start_cached(cache={"redis_timeout_seconds": 0.2}, redis_url=dead)
    first = gateway.http.post("/v1/chat/completions", json=GREEDY)
    second = gateway.http.post("/v1/chat/completions", json=GREEDY)
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-genai-cache"], second.headers["x-genai-cache"]) == ("miss", "hit")
    assert gateway.record(second).cache_level == "l1"
    assert gateway.policy.l2 is not None and not gateway.policy.l2.up
    assert metrics.CACHE_REDIS_UP._value.get() == 0
    assert len(echo_upstream.requests) == 1


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A server that accepts connections and never answers (a hung Redis): a fault double."""
    with silent_port() as port:
        yield f"redis://127.0.0.1:{port}/0"


@pytest.mark.anyio
async def test_fake_hung_redis_costs_one_timeout_then_is_skipped_until_the_retry(
    silent_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(silent_redis, prefix="t:", ttl_s=60, timeout_s=0.1, retry_s=0.5)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.cache.redis_store"):
            started = time.monotonic()
            assert await store.get("k") is None
            first = time.monotonic() - started
            started = time.monotonic()
            for _ in range(20):
                assert await store.get("k") is None
            skipped = time.monotonic() - started
        assert first < 0.5 and skipped < 0.05
        assert not store.up
        warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(warnings) == 1 and "serving on the in-process cache alone" in warnings[0].getMessage()
        store.put_many([("k", Entry("json", (b"{}",)))])  # dropped while down: no task waits on it
        assert not store._writes
        await asyncio.sleep(0.55)
        started = time.monotonic()
        assert await store.get("k") is None  # the pause ended: one more try, one more timeout
        assert 0.05 < time.monotonic() - started < 0.5
    finally:
        await asyncio.wait_for(store.close(), 2)


class _ScriptedRedis:
    """A stand-in Redis client for a fault test: each ``mget`` waits for the event it is given, or never
    answers (None), in the order the calls arrive."""

    def __init__(self, gates: list[asyncio.Event | None]) -> None:
        self.gates = gates

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        gate = self.gates.pop(0)
        if gate is None:
            await asyncio.Event().wait()
        else:
            await gate.wait()
        return [None] * len(keys)


@pytest.mark.anyio
async def test_fake_redis_answer_begun_before_a_failure_does_not_bring_it_back(redis_url: str) -> None:
    # Under load a lookup that started before another one timed out may still answer: that proves nothing
    # about Redis now, so the pause must hold until a lookup begun after the failure succeeds.
    store = RedisStore(redis_url, prefix="t:", ttl_s=60, timeout_s=0.05, retry_s=0.3)
    real_client = store.client
    early, probe = asyncio.Event(), asyncio.Event()
    store.client = _ScriptedRedis([early, None, probe])  # type: ignore[assignment]
    try:
        in_flight = asyncio.create_task(store.get("a"))
        await asyncio.sleep(0)
        assert await store.get("b") is None and not store.up  # the hung lookup timed out: down
        early.set()
        assert await in_flight is None
        assert not store.up  # the older lookup's answer did not end the pause
        await asyncio.sleep(0.35)
        probe.set()
        assert await store.get("c") is None
        assert store.up  # a lookup begun after the failure answered: Redis is back
    finally:
        store.client = real_client
        await asyncio.wait_for(store.close(), 2)
