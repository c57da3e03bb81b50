"""Fixtures of the limits tests: the real Redis (``GENAI_TEST_REDIS_URL``, default the local server) with
a key prefix of each test's own, removed afterwards, both limiters behind one async interface, and
limited gateways on either backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.limits.memory import MemoryLimiter
from gateway.limits.plan import WINDOW_MS, Decision, Plan, Settlement
from gateway.limits.redis_backend import RedisLimiter
from tests.fixtures.gateway import EchoUpstream
from tests.fixtures.services import service_unavailable

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SHORT_WINDOW_MS = 600  # tests of the window's expiry wait this long, not a minute


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis, answering a ping (else the test skips, or fails under GENAI_REQUIRE_SERVICES=1)."""
    import redis

    url = os.environ.get("GENAI_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis at {url} is unreachable: {error}")
    finally:
        client.close()
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the test's own; every key under it is deleted afterwards."""
    import redis

    prefix = f"genai-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class Backend:
    """A limiter (in process or Redis) behind one async interface, with its key prefix."""

    def __init__(self, name: str, prefix: str, redis_url: str | None, window_ms: int) -> None:
        self.name, self.prefix = name, prefix
        self.memory = MemoryLimiter(window_ms)
        self.redis = RedisLimiter(redis_url, 2.0, window_ms) if redis_url else None

    async def reserve(self, plan: Plan) -> Decision:
        return await self.redis.reserve(plan) if self.redis else self.memory.reserve(plan)

    async def settle(self, plan: Plan, decision: Decision, settlement: Settlement) -> None:
        if self.redis:
            await self.redis.settle(plan, settlement)
        else:
            self.memory.settle(plan, decision, settlement)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(backend_name: str, request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each limiter in turn: in process, then Redis (under a prefix of the test's own)."""
    window = getattr(request, "param", None) or SHORT_WINDOW_MS
    if backend_name == "memory":
        yield Backend("memory", "mem:", None, window)
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    limiter = Backend("redis", prefix, url, window)
    try:
        yield limiter
    finally:
        assert limiter.redis is not None
        await limiter.redis.close()


StartGateway = Callable[..., httpx.Client]


@pytest.fixture
def start_gateway(
    backend_name: str, request: pytest.FixtureRequest, tmp_path: Path, echo_upstream: EchoUpstream
) -> Iterator[StartGateway]:
    """Starts limited gateways (``start(limits={...}, tenants=..., accounting=...)``) on the backend under
    test, in front of the echo upstream; each is a client of it, closed with the gateway afterwards."""
    from tests.gateway.limits.gateway_fixtures import limited_gateway, limits_settings

    with ExitStack() as stack:

        def start(limits: dict[str, Any], window_ms: int = WINDOW_MS, **sections: Any) -> httpx.Client:
            limits = dict(limits)
            if backend_name == "redis":
                sections["redis_url"] = request.getfixturevalue("redis_url")
                prefix = request.getfixturevalue("redis_prefix")
                limits |= {"backend": "redis", "redis_prefix": prefix, "redis_timeout_seconds": 2.0}
            else:
                limits["backend"] = "memory"
            settings = limits_settings(tmp_path, echo_upstream.url, limits=limits, **sections)
            url, _ = stack.enter_context(limited_gateway(settings, window_ms))
            pool = httpx.Limits(max_connections=64)
            return stack.enter_context(httpx.Client(base_url=url, timeout=30, limits=pool))

        yield start
