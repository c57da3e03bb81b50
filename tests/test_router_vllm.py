"""The router in front of two real vLLM workers serving one model (no fakes): vLLM's own /metrics are
scraped and parsed, concurrent load spreads over both workers, and killing one worker in the middle of a
run of 100 requests fails none of them; the killed worker is marked down, and up again after a restart.

The workers come from tests/fixtures/vllm.py (session-scoped, ~40 s each to start on CPU).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from genai.llm.worker import WorkerProcess
from tests.fixtures.fake_upstreams import context, running

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

Pair = tuple[WorkerProcess, WorkerProcess]


def _settings(pair: Pair) -> dict[str, Any]:
    return {
        "upstreams": {"vllm": {"workers": [worker.url for worker in pair], "timeout": 120}},
        "models": {"tiny-chat": {"targets": [{"upstream": "vllm", "model": "tiny"}]}},
        "health_interval": 0.25,
        "scrape_interval": 0.25,
        "deadline_seconds": 120,
        "retry": {"attempts": 3, "base_delay": 0.05, "max_delay": 0.5},
        "breaker": {"failure_threshold": 3, "open_seconds": 2},
    }


def _body(max_tokens: int = 8) -> dict[str, Any]:
    return {"model": "tiny-chat", "max_tokens": max_tokens, "temperature": 0,
            "messages": [{"role": "user", "content": "Count to ten."}]}


async def _eventually(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_vllm_pair_metrics_are_scraped_and_load_spreads(vllm_worker_pair: Pair) -> None:
    for worker in vllm_worker_pair:
        worker.ensure_ready()
    async with running(_settings(vllm_worker_pair)) as router:
        workers = router.pools["vllm"].workers
        # vLLM's real exposition parses: every worker reports its queue and KV-cache gauges.
        await _eventually(lambda: all(w.scraped_at is not None for w in workers), timeout=10)
        assert all(w.kv_cache is not None for w in workers)
        contexts = [context("tiny-chat", deadline=120) for _ in range(8)]
        answers = await asyncio.gather(*(router.complete(ctx, _body(32)) for ctx in contexts))
    assert all(a["model"] == "tiny-chat" and a["choices"][0]["finish_reason"] for a in answers)
    assert all(ctx.usage and ctx.usage["completion_tokens"] > 0 for ctx in contexts)
    shares = Counter(ctx.worker for ctx in contexts)
    assert set(shares) == {w.url for w in vllm_worker_pair} and min(shares.values()) >= 2, shares


async def test_vllm_killing_a_worker_mid_run_fails_no_request_and_it_comes_back(
    vllm_worker_pair: Pair,
) -> None:
    first, second = vllm_worker_pair
    for worker in vllm_worker_pair:
        worker.ensure_ready()
    try:
        async with running(_settings(vllm_worker_pair)) as router:
            victim = next(w for w in router.pools["vllm"].workers if w.url == second.url)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for index in range(100):
                queue.put_nowait(index)
            served: list[str | None] = []
            failures: list[BaseException] = []

            async def client() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    ctx = context("tiny-chat", deadline=120)
                    try:
                        await router.complete(ctx, _body(4))
                    except Exception as error:  # any failure is what the test counts
                        failures.append(error)
                    served.append(ctx.worker)

            before_kill: list[str | None] = []

            async def killer() -> None:
                # A freshly started CPU worker answers its first batches slowly (vLLM warms up per batch
                # shape), so completion order alone says little: wait until it has really served some.
                while len(served) < 25 or (served.count(second.url) < 2 and len(served) < 60):
                    await asyncio.sleep(0.01)
                before_kill.extend(served)
                await asyncio.to_thread(second.kill)

            await asyncio.gather(killer(), *(client() for _ in range(6)))
            assert not failures, failures[:3]
            assert len(served) == 100
            assert Counter(before_kill).get(second.url, 0) > 0  # both served before the kill
            # Marked down by the health checks (two failed probes) or at once by a refused connection,
            # whichever comes first: the run may have finished before either happened.
            await _eventually(lambda: not victim.up, timeout=5)
            assert set(served[-20:]) == {first.url}
            await asyncio.to_thread(second.restart)
            await _eventually(lambda: victim.up, timeout=10)
            contexts = [context("tiny-chat", deadline=120) for _ in range(6)]
            await asyncio.gather(*(router.complete(ctx, _body(16)) for ctx in contexts))
            assert second.url in {ctx.worker for ctx in contexts}  # back in rotation
    finally:
        second.ensure_ready()
