"""What only the Redis limiter does: scripts loaded once and called by digest (loaded again when Redis
lost them), keys in the tenant's hash slot that expire with the window, and a timeout that gives up."""

from __future__ import annotations

import os

import anyio
import pytest

from gateway.limits.plan import Plan, RateLimit
from gateway.limits.redis_backend import RedisLimiter
from gateway.limits.scripts import RESERVE, sha1
from tests.fixtures.gateway import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


def one(prefix: str, limit: int = 10) -> Plan:
    key = f"{prefix}rl:{{acme}}:key:k:r"
    return Plan(os.urandom(8).hex(), (RateLimit("key", "requests", key, limit, 1, "key k"),), ())


async def test_the_script_is_loaded_once_and_again_after_a_flush(redis_url: str, redis_prefix: str) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 60_000)
    try:
        assert (await limiter.reserve(one(redis_prefix))).rates[0].used == 1
        assert await limiter.client.script_exists(sha1(RESERVE)) == [True]
        await limiter.client.script_flush()  # as a restarted Redis would have forgotten it
        assert (await limiter.reserve(one(redis_prefix))).rates[0].used == 2
        assert await limiter.client.script_exists(sha1(RESERVE)) == [True]
    finally:
        await limiter.close()


async def test_keys_share_the_tenant_slot_and_expire_with_the_window(
    redis_url: str, redis_prefix: str
) -> None:
    limiter = RedisLimiter(redis_url, 2.0, 500)
    try:
        await limiter.reserve(one(redis_prefix))
        found = await limiter.client.keys(f"{redis_prefix}*")
        keys = sorted(key.decode() if isinstance(key, bytes) else key for key in found)
        assert keys == [f"{redis_prefix}rl:{{acme}}:key:k:r:s", f"{redis_prefix}rl:{{acme}}:key:k:r:z"]
        ttls = [await limiter.client.pttl(key) for key in keys]
        assert all(0 < ttl <= 1500 for ttl in ttls)
        await anyio.sleep(1.7)
        assert await limiter.client.keys(f"{redis_prefix}*") == []
    finally:
        await limiter.close()


async def test_a_redis_that_is_not_there_fails_fast() -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", 0.05, 60_000)
    try:
        with anyio.fail_after(1), pytest.raises(Exception):  # noqa: B017 - any failure: the caller falls back
            await limiter.reserve(one("genai-test:absent:"))
    finally:
        await limiter.close()
