"""The ``limits`` policy: rate limits per key and per tenant (requests and tokens per minute) and budgets
(spend per period), checked before the upstream is asked and settled from the usage record.

``before`` builds the request's plan (``gateway.limits.planner``), has the limiter (Redis, shared by all
replicas, or in process) check and count every limit at once, and either refuses with 429 (``Retry-After``
and the ``x-ratelimit-*`` headers) or lets the request on with those headers on its answer. ``record``
puts the tokens and the cost the upstream really used in place of the estimates; in Redis that is one
more script run in a task of its own, so the record hook never waits on I/O.

Settings: ``limits`` (tiers, backend, budget period, Redis prefix and timeouts), ``tenants`` (tenant
limits and budgets), ``accounting.prices`` (what a budget is spent at), ``redis_url``. See docs/limits.md.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from gateway.accounting.pricing import price_of
from gateway.limits.headers import rate_headers, refusal
from gateway.limits.limiter import Limiter
from gateway.limits.memory import MemoryLimiter
from gateway.limits.plan import NANO, WINDOW_MS, Decision, Plan, Settlement
from gateway.limits.planner import Planner
from gateway.policies.base import Call, Policy
from gateway.principal import ANONYMOUS
from gateway.telemetry import metrics

if TYPE_CHECKING:
    from gateway.policies.usage import UsageRecord
    from genai.settings import Settings

PENDING_KEPT_S = 3600.0  # a reservation whose record never came is forgotten after this long


class LimitsPolicy(Policy):
    """Rate limits and budgets (docs/limits.md)."""

    name: ClassVar[str] = "limits"

    def __init__(self, settings: Settings, *, window_ms: int = WINDOW_MS) -> None:
        limits = settings.limits
        self.enabled = limits.enabled
        self.accounting = settings.accounting
        self.planner = Planner(limits, settings.tenants, settings.accounting)
        url = settings.redis_url
        if limits.backend == "redis" and not url:
            raise ValueError("limits.backend is 'redis' but redis_url is not set: set it, or use auto")
        if limits.enabled and url and limits.backend in ("auto", "redis"):
            from gateway.limits.redis_backend import RedisLimiter

            redis = RedisLimiter(url, limits.redis_timeout_seconds, window_ms)
            memory = MemoryLimiter(window_ms)
            self.limiter = Limiter(memory, redis, url=url, retry_s=limits.redis_retry_seconds)
        else:
            self.limiter = Limiter(MemoryLimiter(window_ms))
        # Reservations waiting for their usage record, by request id (ids a client reuses queue up).
        self._pending: dict[str, deque[tuple[float, Plan, Decision]]] = {}
        self._swept = time.monotonic()

    @classmethod
    def from_settings(cls, settings: Settings | None) -> LimitsPolicy:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        return cls(settings)

    async def before(self, call: Call) -> None:
        if not self.enabled:
            return None
        plan = self.planner.plan(call, call.ctx.principal or ANONYMOUS)
        if plan is None:
            return None
        decision = await self.limiter.reserve(plan)
        if not decision.allowed:
            error, reason, scope = refusal(plan, decision)
            metrics.LIMIT_REJECTIONS.labels(reason, scope).inc()
            raise error
        headers = rate_headers(plan, decision)
        if headers:
            call.add_headers(headers)
        if plan.needs_settling:
            now = time.monotonic()
            self._pending.setdefault(call.request_id, deque()).append((now, plan, decision))
            if now - self._swept > PENDING_KEPT_S:
                self._sweep(now)
        return None

    def record(self, record: UsageRecord) -> None:
        queue = self._pending.get(record.request_id)
        if not queue:
            return
        _, plan, decision = queue.popleft()
        if not queue:
            del self._pending[record.request_id]
        settlement = self._settlement(plan, record)
        if settlement:
            self.limiter.settle(plan, decision, settlement)

    def _settlement(self, plan: Plan, record: UsageRecord) -> Settlement:
        """The actual usage of ``record`` in place of ``plan``'s estimates. Usage the upstream never
        reported keeps the estimate counted (the safe side); a request no upstream saw used nothing."""
        settlement = Settlement()
        tokens: int | None
        if record.prompt_tokens is not None or record.completion_tokens is not None:
            tokens = (record.prompt_tokens or 0) + (record.completion_tokens or 0)
        elif record.attempts == 0 or record.cache_hit:
            tokens = 0
        else:
            tokens = None
        if tokens is not None:
            settlement.tokens = [(rate, tokens) for rate in plan.rates if rate.kind == "tokens"]
        if plan.budgets:
            cost, _ = price_of(record, self.accounting)
            if cost is not None:
                actual = math.ceil(cost * NANO)
                settlement.budgets = [(budget, actual - budget.estimate) for budget in plan.budgets]
        return settlement

    def _sweep(self, now: float) -> None:
        for request_id, queue in list(self._pending.items()):
            while queue and now - queue[0][0] > PENDING_KEPT_S:
                queue.popleft()
            if not queue:
                del self._pending[request_id]
        self._swept = now

    async def close(self) -> None:
        await self.limiter.close()
