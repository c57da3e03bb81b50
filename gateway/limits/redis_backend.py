"""The Redis limiter: one EVALSHA per request reserves every limit of it, one more settles it.

Every gateway replica runs the same scripts (``scripts``) against the same keys, so they share one exact
count. The scripts are loaded once (``SCRIPT LOAD``) and called by their digest; a Redis that lost them
(restarted, flushed) gets them again on the ``NOSCRIPT`` answer. The calls of concurrent requests travel
together, one pipeline per turn of the event loop (``redis_batch``). The client has a short timeout and no
retries of its own: a Redis that does not answer within ``limits.redis_timeout_seconds`` counts as down,
and the caller (``limiter``) decides in process instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from gateway.limits.plan import Decision, Plan, RateState, Settlement
from gateway.limits.redis_batch import ScriptBatcher
from gateway.limits.scripts import RESERVE, SETTLE, sha1

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisLimiter:
    """Runs the reserve and settle scripts on the Redis at ``url``."""

    def __init__(self, url: str, timeout_s: float, window_ms: int) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.window_ms = window_ms
        self.timeout_s = timeout_s
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # a failure goes to the in-process limiter, not into a retry loop
            health_check_interval=0,
        )
        self.batcher = ScriptBatcher(self.client, timeout_s)
        self._loaded: set[str] = set()
        self._loading = asyncio.Lock()  # concurrent first callers load a script once, not once each

    async def reserve(self, plan: Plan) -> Decision:
        keys: list[str] = []
        args: list[Any] = [plan.nonce, self.window_ms, len(plan.rates), len(plan.budgets)]
        for rate in plan.rates:
            keys += [f"{rate.key}:z", f"{rate.key}:s"]
            args += [rate.limit, rate.weight]
        for budget in plan.budgets:
            keys.append(budget.key)
            args += [budget.budget, budget.estimate, budget.ttl_ms]
        reply = await self._run(RESERVE, keys, args)
        values = [int(value) for value in reply]
        n = len(plan.rates)
        states = [RateState(*values[1 + 3 * i : 4 + 3 * i]) for i in range(n)]
        tail = values[1 + 3 * n :]
        return Decision(
            allowed=values[0] == 1,
            rates=states,
            spent=tail[0::2],
            over_budget=[bool(flag) for flag in tail[1::2]],
            backend="redis",
        )

    async def settle(self, plan: Plan, settlement: Settlement) -> None:
        keys: list[str] = []
        args: list[Any] = [plan.nonce, len(settlement.tokens), len(settlement.budgets)]
        for rate, new in settlement.tokens:
            keys += [f"{rate.key}:z", f"{rate.key}:s"]
            args += [rate.weight, new]
        for budget, delta in settlement.budgets:
            keys.append(budget.key)
            args.append(delta)
        await self._run(SETTLE, keys, args)

    async def ping(self) -> None:
        async with asyncio.timeout(self.timeout_s * 2):
            await self.client.ping()

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> list[Any]:
        from redis.exceptions import NoScriptError

        digest = sha1(script)
        if digest not in self._loaded:
            async with self._loading:
                if digest not in self._loaded:
                    await self._load(script)
                    self._loaded.add(digest)
        try:
            reply = await self.batcher.evalsha(digest, keys, args)  # bounded by the batch's own timeout
        except NoScriptError:  # Redis restarted or was flushed: load once more
            await self._load(script)
            reply = await self.batcher.evalsha(digest, keys, args)
        return list(reply) if isinstance(reply, list) else [reply]

    async def _load(self, script: str) -> None:
        # The socket timeouts bound each read; this bounds the whole call (a reconnect included).
        async with asyncio.timeout(self.timeout_s * 2):
            await self.client.script_load(script)

    async def close(self) -> None:
        await self.client.aclose()
