"""The router in front of two real vLLM workers serving one model (no fakes): vLLM's own /metrics are
scraped and parsed, concurrent load spreads over both workers, and killing one worker while it generates
long answers fails no request: each one it held is retried on the other worker and answered there in full,
requests that arrive after the kill are answered by the other worker; the killed worker is marked down,
and up again after a restart.

The workers come from tests/fixtures/vllm.py (session-scoped, ~40 s each to start on CPU).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.context import RequestContext
from gateway.routing import Router
from gateway.routing.vllm_metrics import parse_vllm_metrics
from gateway.routing.worker import Worker
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


# 15 prompt tokens + 480 generated fill most of the workers' 512-token context: with ignore_eos each long
# request generates for about 2 s on an idle 2-core machine, longer on a busy one, against the few tens of
# milliseconds between the check of what is in flight and the kill.
LONG_TOKENS = 480
ON_VICTIM = 3  # long requests that must be generating on the victim when it is killed
MAX_LONG = 24  # long requests sent at most to get ON_VICTIM of them onto the victim


def _long_body() -> dict[str, Any]:
    return {**_body(LONG_TOKENS), "ignore_eos": True}


async def _vllm_running(url: str) -> float:
    """vLLM's own count of requests in its running batch, from the worker's /metrics."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    load = parse_vllm_metrics(text)
    return load.running if load is not None else 0.0


@dataclass
class KillRun:
    """Long requests sent before one worker was killed, and what was true at the moment of the kill."""

    long: list[tuple[RequestContext, asyncio.Task[dict[str, Any]]]] = field(default_factory=list)
    on_victim: list[RequestContext] = field(default_factory=list)  # first attempts generating there
    router_in_flight: int = 0  # the router's count of attempts open on the victim
    vllm_running: float = 0.0  # the victim's vllm:num_requests_running, read just before the kill


async def _kill_with_requests_in_flight(router: Router, victim_process: WorkerProcess) -> KillRun:
    """Send long generations until ON_VICTIM of them are open on the victim, wait until the victim's
    vLLM reports them running, then SIGKILL it. Only non-streaming requests are sent: a stream that has
    sent bytes cannot be retried elsewhere."""
    victim = next(w for w in router.pools["vllm"].workers if w.url == victim_process.url)
    run = KillRun()
    try:
        while True:
            await _load_victim(router, victim, run)
            # vLLM's own count lags the router's by the time a request takes to reach its batch. An attempt
            # may also end on the victim meanwhile (a dropped keep-alive connection is retried elsewhere):
            # then load it again rather than kill a worker that holds fewer than ON_VICTIM requests.
            running_there = await _vllm_running_at_least(victim, timeout=30)
            if victim.in_flight >= ON_VICTIM and running_there >= victim.in_flight:
                break
    except BaseException:
        for _, task in run.long:
            task.cancel()
        raise
    # No await from here to the kill, so no attempt can end in between: ``on_victim`` is exactly what
    # the kill interrupts, and vLLM had them in its running batch a moment ago.
    run.vllm_running = running_there
    run.router_in_flight = victim.in_flight
    run.on_victim = [ctx for ctx, task in run.long if ctx.worker == victim.url and not task.done()]
    victim_process.kill()
    return run


async def _load_victim(router: Router, victim: Worker, run: KillRun) -> None:
    """Send long generations until ON_VICTIM of them are open on the victim."""
    while victim.in_flight < ON_VICTIM:
        assert len(run.long) < MAX_LONG, f"after {MAX_LONG} requests {victim.in_flight} are on the victim"
        ctx = context("tiny-chat", deadline=120)
        run.long.append((ctx, asyncio.create_task(router.complete(ctx, _long_body()))))
        await asyncio.sleep(0.02)  # the task picks its worker and opens its attempt


async def _vllm_running_at_least(victim: Worker, timeout: float) -> float:
    """The victim's vLLM running count once it reaches the router's count there (or that count fell)."""
    deadline = time.monotonic() + timeout
    while (running := await _vllm_running(victim.url)) < victim.in_flight:
        assert time.monotonic() < deadline, f"vLLM runs {running} of {victim.in_flight} requests"
        await asyncio.sleep(0.05)
    return running


async def _short_requests(router: Router, count: int, clients: int) -> list[RequestContext]:
    """``count`` short requests from ``clients`` concurrent clients; each must be answered."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    done: list[RequestContext] = []

    async def client() -> None:
        while not queue.empty():
            queue.get_nowait()
            ctx = context("tiny-chat", deadline=120)
            await router.complete(ctx, _body(4))
            done.append(ctx)

    await asyncio.gather(*(client() for _ in range(clients)))
    return done


async def test_vllm_killing_a_worker_retries_its_requests_on_the_other_and_it_comes_back(
    vllm_worker_pair: Pair,
) -> None:
    first, second = vllm_worker_pair
    for worker in vllm_worker_pair:
        worker.ensure_ready()
    try:
        async with running(_settings(vllm_worker_pair)) as router:
            victim = next(w for w in router.pools["vllm"].workers if w.url == second.url)
            # A fresh CPU worker is slow on batch shapes it has not run yet: warm both up first.
            warm = [router.complete(context("tiny-chat", deadline=120), _long_body()) for _ in range(4)]
            await asyncio.gather(*warm)
            async with asyncio.timeout(180):
                run = await _kill_with_requests_in_flight(router, second)
                # Requests that arrive after the kill, while the victim is not yet marked down.
                after = await _short_requests(router, 20, clients=4)
                answers = await asyncio.gather(*(task for _, task in run.long))
            # At the kill the victim held ON_VICTIM or more first attempts (vLLM was generating them:
            # _kill_with_requests_in_flight waited for its running count), and the router knew each one.
            assert len(run.on_victim) == run.router_in_flight >= ON_VICTIM, (
                [ctx.request_id for ctx in run.on_victim],
                run.router_in_flight,
                run.vllm_running,
            )
            # Each of them was retried on the other worker and answered there in full.
            by_ctx = {id(ctx): answer for (ctx, _), answer in zip(run.long, answers, strict=True)}
            for ctx in run.on_victim:
                assert ctx.attempts >= 2 and ctx.worker == first.url, (ctx.attempts, ctx.worker)
                answer = by_ctx[id(ctx)]
                assert answer["usage"]["completion_tokens"] == LONG_TOKENS
                assert answer["choices"][0]["finish_reason"] == "length"
            # No answer came from the dead worker, whether a request first tried it or not.
            assert {ctx.worker for ctx in after} == {first.url}
            # Marked down by the health checks (two failed probes) or at once by a refused connection.
            await _eventually(lambda: not victim.up, timeout=5)
            await asyncio.to_thread(second.restart)
            await _eventually(lambda: victim.up, timeout=10)
            contexts = [context("tiny-chat", deadline=120) for _ in range(6)]
            await asyncio.gather(*(router.complete(ctx, _body(16)) for ctx in contexts))
            assert second.url in {ctx.worker for ctx in contexts}  # back in rotation
    finally:
        second.ensure_ready()
