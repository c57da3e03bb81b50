"""Load generator for the gateway benchmark: open-loop fixed rates, closed-loop maximum throughput, streams.

* ``open_loop``: requests are *scheduled* at a fixed rate (one every 1/rate seconds) whether or not earlier
  ones have finished, and each latency is measured from its scheduled send time, not from when the
  client got round to sending it. A server (or this client) that falls behind therefore shows up as
  latency instead of silently lowering the offered load (no coordinated omission).
* ``closed_loop``: N connections each send the next request as soon as the previous answer arrived; the
  completed requests per second is the maximum throughput.
* With ``stream=True`` both record time to first token too: the arrival of the first chunk whose delta
  carries generated text (the role-only first chunk does not count), again from the scheduled send time.

One aiohttp session with keep-alive connections, on one event loop: this process has its own ceiling,
which the benchmark reports by running the same load straight against the mock upstream.

    python benchmarks/gateway/loadgen.py --url http://127.0.0.1:9100 --rates 100 400 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import orjson

CHAT_PATH = "/v1/chat/completions"
# A delta with generated text: `"content":"x` (compact or spaced JSON); the role chunk has "content":"".
_CONTENT = re.compile(rb'"content":\s*"[^"]')
_DONE = b"data: [DONE]"
MAX_CONNECTIONS = 1024
# The body of a level's ``index``-th request (warm-up included), for targets whose requests must differ
# (a cache that should miss every time); None sends ``chat_body`` every time.
BodyFactory = Callable[[int], bytes]


def chat_body(model: str, stream: bool, max_tokens: int = 16) -> bytes:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Benchmark request: answer in a few words."}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


@dataclass
class Result:
    """One load level against one target: latencies in milliseconds."""

    mode: str  # "open" or "closed"
    stream: bool
    target_rate: float | None  # requests/s offered (open loop); None for closed loop
    concurrency: int | None  # connections (closed loop)
    duration_s: float
    sent: int = 0
    completed_total: int = 0  # answers, warm-up included (what CPU time per request is divided by)
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    achieved_rps: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p90, p99, max, mean
    ttft_ms: dict[str, float] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def sustained(self, max_p99_ms: float = 1000.0) -> bool:
        """Whether the target kept up: >= 95% of the offered rate, bounded p99, no errors."""
        if self.target_rate is None or self.error_count or not self.ok:
            return False
        return self.achieved_rps >= 0.95 * self.target_rate and self.latency_ms["p99"] < max_p99_ms

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sustained"] = self.sustained() if self.target_rate is not None else None
        return data


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of seconds, in milliseconds (nearest-rank percentiles)."""
    if not values:
        return {}
    ordered = sorted(values)
    last = len(ordered) - 1

    def rank(q: float) -> float:
        return ordered[min(last, max(0, round(q * len(ordered) + 0.5) - 1))] * 1000.0

    return {
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "max": ordered[-1] * 1000.0,
        "mean": sum(ordered) / len(ordered) * 1000.0,
    }


class Recorder:
    """Outcomes of the measured requests (warm-up requests are sent but not recorded)."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ttfts: list[float] = []
        self.errors: Counter[str] = Counter()
        self.first_start = float("inf")
        self.last_end = 0.0

    def success(self, start: float, end: float, ttft: float | None) -> None:
        self.latencies.append(end - start)
        if ttft is not None:
            self.ttfts.append(ttft - start)
        self.first_start = min(self.first_start, start)
        self.last_end = max(self.last_end, end)

    def failure(self, kind: str) -> None:
        self.errors[kind] += 1

    def fill(self, result: Result, span: float | None = None) -> Result:
        result.ok = len(self.latencies)
        result.errors = dict(self.errors)
        if span is None:
            span = self.last_end - self.first_start
        result.achieved_rps = result.ok / span if span > 0 else 0.0
        result.latency_ms = percentiles(self.latencies)
        result.ttft_ms = percentiles(self.ttfts)
        return result


async def request_once(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    stream: bool,
    start: float,
    recorder: Recorder | None,
) -> None:
    """One request; its outcome goes to ``recorder`` (None during warm-up)."""
    loop = asyncio.get_running_loop()
    ttft: float | None = None
    try:
        async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
            if stream:
                ttft, complete = await _read_stream(response.content, loop)
            else:
                complete = b'"choices"' in await response.read()
            status = response.status
    except (aiohttp.ClientError, OSError) as error:
        if recorder is not None:
            recorder.failure(type(error).__name__)
        return
    except TimeoutError:
        if recorder is not None:
            recorder.failure("timeout")
        return
    end = loop.time()
    if recorder is None:
        return
    if status != 200:
        recorder.failure(f"http_{status}")
    elif not complete:
        recorder.failure("incomplete")
    else:
        recorder.success(start, end, ttft)


async def _read_stream(
    content: aiohttp.StreamReader, loop: asyncio.AbstractEventLoop
) -> tuple[float | None, bool]:
    """(arrival time of the first generated text, whether the stream ended with [DONE])."""
    ttft: float | None = None
    tail = b""
    async for chunk in content.iter_any():
        if ttft is None and _CONTENT.search(chunk):
            ttft = loop.time()
        tail = (tail + chunk)[-64:]
    return ttft, _DONE in tail


@contextmanager
def quiet_gc() -> Iterator[None]:
    """No cyclic GC pauses inside a measurement: they would land in the latencies of every target alike
    and only add noise; the garbage is collected between measurements instead."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def new_session(timeout_s: float, api_key: str | None = None) -> aiohttp.ClientSession:
    """Keep-alive connections; with ``api_key``, every request carries ``Authorization: Bearer KEY``
    (the targets that check a key: gateway-full, litellm-keyed)."""
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=30.0, force_close=False)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        skip_auto_headers=("User-Agent",),
        headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
    )


async def open_loop(
    base_url: str,
    model: str,
    rate: float,
    duration: float,
    *,
    warmup: float = 2.0,
    stream: bool = False,
    timeout_s: float = 10.0,
    min_requests: int = 0,
    api_key: str | None = None,
    bodies: BodyFactory | None = None,
) -> Result:
    """Offer ``rate`` requests/s for ``warmup`` + ``duration`` seconds; record the last ``duration``,
    stretched at low rates to at least ``min_requests`` requests (a p99 of a few hundred samples is
    decided by its three slowest). ``bodies``: request ``i``'s body is ``bodies(i)``, built when it is
    sent (else every request sends the same ``chat_body``)."""
    duration = max(duration, min_requests / rate)
    url = base_url.rstrip("/") + CHAT_PATH
    body = chat_body(model, stream)
    recorder = Recorder()
    result = Result("open", stream, rate, None, duration)
    async with new_session(timeout_s, api_key) as session:
        loop = asyncio.get_running_loop()
        warm_count = int(rate * warmup)
        total = warm_count + int(rate * duration)
        tasks: set[asyncio.Task[None]] = set()
        with quiet_gc():
            origin = loop.time() + 0.01
            for i in range(total):
                scheduled = origin + i / rate
                delay = scheduled - loop.time()
                # Behind schedule, still yield once per request, so requests already sent get their
                # answers read instead of a burst of sends starving them.
                await asyncio.sleep(max(0.0, delay))
                sent_body = body if bodies is None else bodies(i)
                task = asyncio.create_task(
                    request_once(
                        session, url, sent_body, stream, scheduled, recorder if i >= warm_count else None
                    )
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks)
        result.sent = total - warm_count
    recorder.fill(result)
    # Offered load over the measured window: a target that fell behind finishes late and so scores lower.
    measured_window = max(duration, recorder.last_end - (origin + warm_count / rate))
    result.achieved_rps = result.ok / measured_window
    return result


async def closed_loop(
    base_url: str,
    model: str,
    concurrency: int,
    duration: float,
    *,
    warmup: float = 2.0,
    stream: bool = False,
    timeout_s: float = 10.0,
    api_key: str | None = None,
    bodies: BodyFactory | None = None,
) -> Result:
    """``concurrency`` connections each sending back-to-back for ``warmup`` + ``duration`` seconds;
    ``bodies`` as in ``open_loop`` (the index counts the requests of all connections together)."""
    url = base_url.rstrip("/") + CHAT_PATH
    body = chat_body(model, stream)
    recorder = Recorder()
    result = Result("closed", stream, None, concurrency, duration)
    async with new_session(timeout_s, api_key) as session:
        loop = asyncio.get_running_loop()
        measure_from = loop.time() + warmup
        stop_at = measure_from + duration
        sent = completed = issued = 0

        async def worker() -> None:
            nonlocal sent, completed, issued
            while (start := loop.time()) < stop_at:
                measured = start >= measure_from
                sent += measured
                sent_body = body if bodies is None else bodies(issued)
                issued += 1
                await request_once(session, url, sent_body, stream, start, recorder if measured else None)
                completed += 1

        with quiet_gc():
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.sent = sent
        result.completed_total = completed
    return recorder.fill(result, span=duration)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:9100")
    parser.add_argument("--model", default="bench")
    parser.add_argument("--rates", type=float, nargs="*", default=[], help="open-loop requests/s")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[], help="closed-loop connections")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--api-key", help="sent as Authorization: Bearer KEY")
    args = parser.parse_args()

    async def run() -> None:
        for rate in args.rates:
            result = await open_loop(
                args.url,
                args.model,
                rate,
                args.duration,
                warmup=args.warmup,
                stream=args.stream,
                api_key=args.api_key,
            )
            print(orjson.dumps(result.as_dict()).decode(), flush=True)
        for concurrency in args.concurrency:
            result = await closed_loop(
                args.url,
                args.model,
                concurrency,
                args.duration,
                warmup=args.warmup,
                stream=args.stream,
                api_key=args.api_key,
            )
            print(orjson.dumps(result.as_dict()).decode(), flush=True)

    started = time.monotonic()
    asyncio.run(run())
    print(f"done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    _main()
