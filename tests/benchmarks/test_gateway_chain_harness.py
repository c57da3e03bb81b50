"""The gateway benchmark's harness for issue 9's chain targets: the load generator's per-request bodies
(sent as built, warm-up included), the miss target's bodies unique across levels and cacheable, the cache
lookups read from a Prometheus exposition, the hit/miss verdicts, and the report's chain tables."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "gateway"))

import loadgen
import report
import report_chain
import servers_chain

ANSWER = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}


async def _serve_recording(received: list[bytes]) -> tuple[web.AppRunner, str]:
    async def chat(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.json_response(ANSWER)

    app = web.Application()
    app.router.add_post(loadgen.CHAT_PATH, chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def test_open_loop_sends_each_requests_own_body_warmup_included() -> None:
    received: list[bytes] = []

    async def run() -> loadgen.Result:
        runner, url = await _serve_recording(received)
        try:
            return await loadgen.open_loop(
                url, "bench", 100.0, 0.2, warmup=0.1, bodies=lambda i: b'{"n": %d}' % i
            )
        finally:
            await runner.cleanup()

    result = asyncio.run(run())
    assert result.ok == result.sent == 20 and not result.errors
    assert sorted(orjson.loads(body)["n"] for body in received) == list(range(30))


def test_open_loop_without_a_factory_sends_the_fixed_chat_body() -> None:
    received: list[bytes] = []

    async def run() -> None:
        runner, url = await _serve_recording(received)
        try:
            await loadgen.open_loop(url, "bench", 100.0, 0.1, warmup=0.0)
        finally:
            await runner.cleanup()

    asyncio.run(run())
    assert received and set(received) == {loadgen.chat_body("bench", False)}


def test_closed_loop_numbers_the_requests_of_all_connections_together() -> None:
    received: list[bytes] = []

    async def run() -> None:
        runner, url = await _serve_recording(received)
        try:
            await loadgen.closed_loop(url, "bench", 4, 3.0, warmup=0.05, bodies=lambda i: b'{"n": %d}' % i)
        finally:
            await runner.cleanup()

    asyncio.run(run())
    numbers = [orjson.loads(body)["n"] for body in received]
    # Each body number is used once across the 4 connections; a request cut off at the end may have taken
    # a number and never arrived, so gaps are allowed only there: at most one per connection.
    assert len(numbers) > 8 and len(set(numbers)) == len(numbers)
    assert max(numbers) < len(numbers) + 4


@pytest.mark.parametrize("stream", [False, True])
def test_miss_bodies_never_repeat_across_levels_and_are_cacheable(stream: bool) -> None:
    from gateway.cache.key import is_deterministic

    first, second = (servers_chain.body_factory("gateway-chain-miss", stream) for _ in range(2))
    assert first is not None and second is not None
    bodies = [factory(index) for factory in (first, second) for index in range(500)]
    assert len(set(bodies)) == len(bodies)  # the index restarts every level: the nonce keeps them apart
    parsed = [orjson.loads(body) for body in bodies]
    assert all(is_deterministic(body) for body in parsed)
    assert all(body.get("stream", False) is stream for body in parsed)


def test_hit_bodies_are_one_cacheable_body_and_other_targets_get_none() -> None:
    from gateway.cache.key import is_deterministic

    factory = servers_chain.body_factory("gateway-chain-hit", False)
    assert factory is not None
    assert factory(0) == factory(12345)
    assert is_deterministic(orjson.loads(factory(0)))
    assert servers_chain.body_factory("gateway-full", False) is None


def test_cache_lookups_are_summed_by_result_from_a_real_exposition() -> None:
    from prometheus_client import CollectorRegistry, Counter, generate_latest

    registry = CollectorRegistry()
    lookups = Counter("genai_gateway_cache_lookups", "x", ["model", "endpoint", "result"], registry=registry)
    lookups.labels("bench", "chat", "l1").inc(5)
    lookups.labels("bench", "completions", "l1").inc(2)
    lookups.labels("bench", "chat", "miss").inc(3)
    text = generate_latest(registry).decode()
    assert servers_chain.cache_lookups(text) == {"l1": 7.0, "miss": 3.0}


@pytest.mark.parametrize(
    ("name", "lookups", "ok"),
    [
        ("gateway-chain-miss", {"miss": 100.0}, True),
        ("gateway-chain-miss", {"miss": 100.0, "l1": 1.0}, False),
        ("gateway-chain-hit", {"l1": 998.0, "miss": 2.0}, True),
        ("gateway-chain-hit", {"l1": 90.0, "miss": 10.0}, False),
        ("gateway-chain-hit-l2", {"l2": 998.0, "miss": 2.0}, True),
        ("gateway-chain-hit-l2", {"l2": 990.0, "l1": 10.0}, False),
        ("gateway-chain-hit", {}, False),
    ],
)
def test_cache_verdicts(name: str, lookups: dict[str, float], ok: bool) -> None:
    assert servers_chain.cache_verdict(name, lookups)[0] is ok


def _row(rate: float, p50: float, p99: float) -> dict[str, Any]:
    latency = {"p50": p50, "p90": p99, "p99": p99, "max": p99, "mean": p50}
    return {
        "mode": "open",
        "stream": False,
        "target_rate": rate,
        "ok": 100,
        "errors": {},
        "achieved_rps": rate,
        "latency_ms": latency,
        "ttft_ms": {},
    }


def test_the_chain_table_gives_a_misss_overhead_and_a_hits_own_latency() -> None:
    results: dict[str, Any] = {
        "direct": {"open": [_row(50, 2.0, 4.0)]},
        "gateway-full": {"open": [_row(50, 4.5, 9.0)]},
        "gateway-chain-miss": {"open": [_row(50, 6.0, 12.0)], "checks": {"cache_lookups": {"miss": 9.0}}},
        "gateway-chain-hit": {"open": [_row(50, 1.5, 3.0)]},
    }
    lines = report_chain.chain_rate_table(results, "open", 1000.0)
    assert "L2 hit" not in lines[0]  # no L2 target measured: no L2 columns
    cells = [cell.strip() for cell in lines[2].strip("|").split("|")]
    # direct, gateway-full's overhead, the miss and its overhead, the hit and its difference from direct:
    expected = [
        "50",
        "2.00 / 4.00",
        "2.50 / 5.00",
        "6.00 / 12.0",
        "4.00 / 8.00",
        "1.50 / 3.00",
        "-0.50 / -1.00",
    ]
    assert cells[:7] == expected
    meta = {"max_p99_ms": 1000.0, "chunks": 16, "chunk_interval_ms": 1.0}
    text = report.render({"meta": meta, "results": results})
    assert "gateway-chain-miss: every request missed: **yes**" in text
