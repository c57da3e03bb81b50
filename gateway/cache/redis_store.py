"""The L2: cache entries in Redis, shared by every gateway replica, each with a TTL (``SET ... EX``).

Redis is never allowed to slow serving down or to fail a request. Every call has a short timeout
(``cache.redis_timeout_seconds``) and no retries; the first failure marks Redis down: lookups then miss
the L2 at once and stores are dropped, until ``cache.redis_retry_seconds`` passed and one request tries
again. The change is logged once each way and exported as ``genai_gateway_cache_redis_up``. Stores run
in tasks of their own, off the request path, at most ``MAX_PENDING_WRITES`` at a time (more are dropped:
a cache may forget, it must not queue without bound).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.cache.entry import Entry
from gateway.telemetry import metrics
from genai.settings.masking import mask_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

MAX_PENDING_WRITES = 256


class RedisStore:
    """Entries under ``prefix`` in the Redis at ``url``, kept ``ttl_s`` seconds."""

    def __init__(self, url: str, *, prefix: str, ttl_s: int, timeout_s: float, retry_s: float) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.url = mask_url(url, "***")
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # a failure means "down", not a retry loop on the request path
            health_check_interval=0,
        )
        self.up = True
        self._retry_at = 0.0
        # Failures so far. A call that succeeds brings Redis back only if none failed since it began: one
        # started before the failure and answered after it proves nothing about Redis now.
        self._failures = 0
        self._writes: set[asyncio.Task[None]] = set()
        metrics.CACHE_REDIS_UP.set(1)

    def _usable(self) -> bool:
        if self.up:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + self.retry_s  # this caller tries again; the others skip the L2 meanwhile
        return True

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        """The entries under ``keys`` (None for a miss); all None while Redis is down."""
        if not keys or not self._usable():
            return [None] * len(keys)
        failures = self._failures
        try:
            async with asyncio.timeout(self.timeout_s * 2):  # a reconnect included
                values = await self.client.mget([self.prefix + key for key in keys])
        except Exception as error:  # any failure: serve without the L2
            self._down(error)
            return [None] * len(keys)
        self._back(failures)
        return [Entry.decode(value) if isinstance(value, bytes) else None for value in values]

    async def get(self, key: str) -> Entry | None:
        return (await self.get_many([key]))[0]

    def put_many(self, entries: Sequence[tuple[str, Entry]]) -> None:
        """Store ``entries`` in a task of its own; dropped while Redis is down or too many are pending."""
        if not entries or not self.up or len(self._writes) >= MAX_PENDING_WRITES:
            return
        task = asyncio.get_running_loop().create_task(self._write(entries))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, entries: Sequence[tuple[str, Entry]]) -> None:
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                async with self.client.pipeline(transaction=False) as pipe:
                    for key, entry in entries:
                        pipe.set(self.prefix + key, entry.encode(), ex=self.ttl_s)
                    await pipe.execute()
        except Exception as error:
            self._down(error)

    async def drain(self) -> None:
        """Wait for the stores in flight (tests, shutdown)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _down(self, error: BaseException) -> None:
        self._failures += 1
        self._retry_at = time.monotonic() + self.retry_s
        if self.up:
            self.up = False
            metrics.CACHE_REDIS_UP.set(0)
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            logger.warning(
                "cache: Redis at %s unreachable (%s); serving on the in-process cache alone "
                "(next try in %gs)",
                self.url,
                reason,
                self.retry_s,
            )

    def _back(self, failures_at_start: int) -> None:
        if not self.up and failures_at_start == self._failures:
            self.up = True
            metrics.CACHE_REDIS_UP.set(1)
            logger.info("cache: Redis at %s answers again; the shared cache is back", self.url)

    async def close(self) -> None:
        await self.drain()
        await self.client.aclose()
