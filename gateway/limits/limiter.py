"""The limiter the policy talks to: Redis when one is configured and answering, else in process.

While Redis answers, every decision is Redis's, shared by all replicas. When a call fails (refused
connection, timeout, any error), the request is decided by this replica's in-process limiter instead,
Redis is left alone for ``limits.redis_retry_seconds``, and the state change is logged once and exported
(``genai_gateway_limits_redis_up``); the next request after the pause tries Redis again. A limit is never
the reason for a 500: whatever Redis does, the request gets a decision.

The in-process counts start from nothing when Redis goes away (a replica cannot see Redis's), so for the
time it is down each replica enforces the limits on its own: N replicas admit up to N times a limit.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway.limits.memory import MemoryLimiter
from gateway.limits.plan import Decision, Plan, Settlement
from gateway.limits.redis_backend import RedisLimiter
from gateway.telemetry import metrics
from genai.settings.masking import mask_url

logger = logging.getLogger(__name__)


def masked(url: str) -> str:
    """``url`` with any password replaced, for log lines."""
    return mask_url(url, "***")


class Limiter:
    """Decides and settles requests in Redis (``redis`` given) or in process, falling back on failure."""

    def __init__(
        self, memory: MemoryLimiter, redis: RedisLimiter | None = None, *, url: str = "", retry_s: float = 5.0
    ) -> None:
        self.memory = memory
        self.redis = redis
        self.url = masked(url)
        self.retry_s = retry_s
        self.redis_up = redis is not None
        self._retry_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        if redis is not None:
            metrics.LIMITS_REDIS_UP.set(1)

    def _use_redis(self) -> bool:
        if self.redis is None:
            return False
        if self.redis_up:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + self.retry_s  # one request tries Redis again; the others go on in process
        return True

    async def reserve(self, plan: Plan) -> Decision:
        if self.redis is not None and self._use_redis():
            try:
                decision = await self.redis.reserve(plan)
            except Exception as error:  # any Redis failure: decide here, never fail the request
                self._down(error)
            else:
                self._up()
                return decision
        if self.redis is not None:
            metrics.LIMITS_IN_PROCESS.inc()
        return self.memory.reserve(plan)

    def settle(self, plan: Plan, decision: Decision, settlement: Settlement) -> None:
        """Counts the actual usage: in process at once, in Redis in a task of its own (off the path)."""
        if decision.backend == "memory":
            self.memory.settle(plan, decision, settlement)
            return
        task = asyncio.get_running_loop().create_task(self._settle_in_redis(plan, settlement))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_in_redis(self, plan: Plan, settlement: Settlement) -> None:
        assert self.redis is not None
        try:
            await self.redis.settle(plan, settlement)
        except Exception as error:  # the estimate stays counted: the safe side
            self._down(error)

    def _down(self, error: BaseException) -> None:
        self._retry_at = time.monotonic() + self.retry_s
        if self.redis_up:
            self.redis_up = False
            metrics.LIMITS_REDIS_UP.set(0)
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            logger.warning(
                "limits: Redis at %s unreachable (%s); each replica counts in process until it is back "
                "(next try in %gs)",
                self.url,
                reason,
                self.retry_s,
            )

    def _up(self) -> None:
        if not self.redis_up:
            self.redis_up = True
            metrics.LIMITS_REDIS_UP.set(1)
            logger.info("limits: Redis at %s answers again; limits are shared by all replicas", self.url)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.redis is not None:
            await self.redis.close()
