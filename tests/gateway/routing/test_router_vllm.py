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
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.context import RequestContext
from gateway.routing import Router
from genai.llm.worker import WorkerProcess
from tests.fixtures.router_calls import context, running

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
    return {
        "model": "tiny-chat",
        "max_tokens": max_tokens,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Count to ten."}],
    }


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


@dataclass
class KillRun:
    """What a run of requests saw while one worker was killed in the middle of it."""

    contexts: list[RequestContext] = field(default_factory=list)  # in completion order
    failures: list[BaseException] = field(default_factory=list)
    served_before_kill: list[str | None] = field(default_factory=list)
    in_flight_at_kill: int = 0


async def _run_and_kill(router: Router, victim_process: WorkerProcess, requests: int = 100) -> KillRun:
    """``requests`` requests from 6 concurrent clients; the victim is SIGKILLed once 25 are done and it
    has served a few itself (a busy 2-core machine makes it slower than its twin), or after 60."""
    victim = next(w for w in router.pools["vllm"].workers if w.url == victim_process.url)
    run = KillRun()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)

    async def client() -> None:
        while not queue.empty():
            queue.get_nowait()
            ctx = context("tiny-chat", deadline=120)
            try:
                await router.complete(ctx, _body(4))
            except Exception as error:  # any failure is what the test counts
                run.failures.append(error)
            run.contexts.append(ctx)

    def served() -> list[str | None]:
        return [ctx.worker for ctx in run.contexts]

    async def killer() -> None:
        while len(run.contexts) < 25 or (served().count(victim.url) < 2 and len(run.contexts) < 60):
            await asyncio.sleep(0.01)
        run.served_before_kill = served()
        run.in_flight_at_kill = victim.in_flight
        await asyncio.to_thread(victim_process.kill)

    await asyncio.gather(killer(), *(client() for _ in range(6)))
    return run


async def test_vllm_killing_a_worker_mid_run_fails_no_request_and_it_comes_back(
    vllm_worker_pair: Pair,
) -> None:
    first, second = vllm_worker_pair
    for worker in vllm_worker_pair:
        worker.ensure_ready()
    try:
        async with running(_settings(vllm_worker_pair)) as router:
            victim = next(w for w in router.pools["vllm"].workers if w.url == second.url)
            # A fresh CPU worker is slow on batch shapes it has not run yet: warm both up first.
            await asyncio.gather(
                *(router.complete(context("tiny-chat", deadline=120), _body(4)) for _ in range(6))
            )
            run = await _run_and_kill(router, second)
            assert not run.failures, run.failures[:3]
            assert len(run.contexts) == 100
            # The kill hit a worker in rotation: it had served part of this run or held requests in flight,
            # and every request it held was retried on the other worker.
            assert run.served_before_kill.count(second.url) + run.in_flight_at_kill > 0
            assert sum(ctx.attempts > 1 for ctx in run.contexts) >= run.in_flight_at_kill
            # Marked down by the health checks (two failed probes) or at once by a refused connection,
            # whichever comes first: the run may have finished before either happened.
            await _eventually(lambda: not victim.up, timeout=5)
            assert {ctx.worker for ctx in run.contexts[-20:]} == {first.url}
            await asyncio.to_thread(second.restart)
            await _eventually(lambda: victim.up, timeout=10)
            contexts = [context("tiny-chat", deadline=120) for _ in range(6)]
            await asyncio.gather(*(router.complete(ctx, _body(16)) for ctx in contexts))
            assert second.url in {ctx.worker for ctx in contexts}  # back in rotation
    finally:
        second.ensure_ready()
