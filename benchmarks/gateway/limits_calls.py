"""CPU per limits call against the real Redis: ``RedisLimiter.reserve`` with its script called one request at
a time, as the limiter did before, beside the limiter's batched path (``gateway.limits.redis_batch``), at a
few numbers of concurrent callers.

Each level runs ``--calls`` reserves of one rate limit (a fresh key prefix, deleted afterwards) from that
many concurrent tasks on one uvloop event loop, and reports this process's CPU time per call (Redis' own
work is not counted: it is the same for both paths) and the calls per pipeline the batched path sent. Run
on a quiet machine:

    .venv/bin/python benchmarks/gateway/limits_calls.py

Results go under ``limits_calls`` in docs/benchmarks/results/limits-calls.json (``--out`` for another).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from the repository root

from benchmarks.provenance import RESULTS_DIR, provenance


def _plan(prefix: str) -> Any:
    from gateway.limits.plan import Plan, RateLimit

    key = f"{prefix}rl:{{bench}}:key:k:r"
    return Plan(os.urandom(8).hex(), (RateLimit("key", "requests", key, 10**9, 1, "key k"),), ())


async def _cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int, concurrency: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    started = time.process_time()
    await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) * 1e6 / (calls // concurrency * concurrency)


class _OneByOne:
    """The limiter's call before batching: one ``EVALSHA`` per caller, under the same timeout."""

    def __init__(self, client: Any, timeout_s: float) -> None:
        self.client, self.timeout_s = client, timeout_s

    async def evalsha(self, digest: str, keys: list[str], args: list[Any]) -> Any:
        async with asyncio.timeout(self.timeout_s * 2):
            return await self.client.evalsha(digest, len(keys), *keys, *args)


async def _level(url: str, calls: int, concurrency: int) -> dict[str, float]:
    from gateway.limits.redis_backend import RedisLimiter

    prefix = f"genai-bench:{uuid.uuid4().hex[:12]}:"
    limiter = RedisLimiter(url, 2.0, 60_000)
    batcher = limiter.batcher
    try:
        await limiter.reserve(_plan(prefix))  # loads the script
        limiter.batcher = _OneByOne(limiter.client, 2.0)  # type: ignore[assignment]
        alone = await _cpu_per_call(lambda: limiter.reserve(_plan(prefix)), calls, concurrency)
        limiter.batcher = batcher
        batched = await _cpu_per_call(lambda: limiter.reserve(_plan(prefix)), calls, concurrency)
        per_batch = (batcher.calls - 1) / max(1, batcher.batches - 1)
        keys_left = [key async for key in limiter.client.scan_iter(match=f"{prefix}*")]
        if keys_left:
            await limiter.client.delete(*keys_left)
    finally:
        limiter.batcher = batcher
        await limiter.close()
    return {
        "one_by_one_cpu_us": round(alone, 1),
        "batched_cpu_us": round(batched, 1),
        "calls_per_pipeline": round(per_batch, 1),
    }


async def _run(url: str, calls: int, levels: list[int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for concurrency in levels:
        results[str(concurrency)] = await _level(url, calls, concurrency)
        print(f"{concurrency} concurrent: {results[str(concurrency)]}", flush=True)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import redis.utils
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("GENAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--calls", type=int, default=8192)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "limits-calls.json")
    args = parser.parse_args(argv)
    levels = uvloop.run(_run(args.redis_url, args.calls, args.concurrency))
    result = {
        **provenance(),
        "calls": args.calls,
        "hiredis": bool(redis.utils.HIREDIS_AVAILABLE),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "by_concurrency": levels,
    }
    current = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    current["limits_calls"] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
