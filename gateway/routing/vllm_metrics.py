"""vLLM's own load gauges, read from a worker's Prometheus /metrics, and the background scrape of them.

Only three families matter for balancing: ``vllm:num_requests_waiting``, ``vllm:num_requests_running`` and
``vllm:kv_cache_usage_perc`` (called ``vllm:gpu_cache_usage_perc`` before vLLM 0.10). A worker serving
several engines or models reports one series per label set: request counts are summed, cache usage takes
the fullest engine. The parser reads only the lines it needs, so a 300-line exposition costs microseconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.routing.pool import Pool
    from gateway.routing.worker import Worker
    from gateway.upstreams.provider import Provider

log = logging.getLogger(__name__)

_WAITING = "vllm:num_requests_waiting"
_RUNNING = "vllm:num_requests_running"
_KV_CACHE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
_NAMES = (_WAITING, _RUNNING, *_KV_CACHE)

# A worker whose /metrics is missing or not vLLM's (a hosted vendor, Ollama) is asked again only after
# this many scrape intervals.
SKIP_INTERVALS_AFTER_MISS = 30


@dataclass(frozen=True, slots=True)
class VllmLoad:
    waiting: float
    running: float
    kv_cache_usage: float | None  # 0..1


def _sample(line: str) -> tuple[str, float] | None:
    """(metric name, value) of one exposition line, or None if it is not one of ours or unreadable."""
    end = len(line)
    for stop in ("{", " "):
        index = line.find(stop)
        if 0 <= index < end:
            end = index
    name = line[:end]
    if name not in _NAMES:
        return None
    rest = line[end:]
    if rest.startswith("{"):
        # Label values may contain '}' only inside quotes; vLLM's never do, but stay correct anyway.
        close = _label_end(rest)
        if close < 0:
            return None
        rest = rest[close + 1 :]
    fields = rest.split()
    if not fields:
        return None
    try:
        value = float(fields[0])
    except ValueError:
        return None
    if math.isnan(value) or math.isinf(value):
        return None
    return name, value


def _label_end(text: str) -> int:
    quoted = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "}" and not quoted:
            return index
    return -1


def parse_vllm_metrics(text: str) -> VllmLoad | None:
    """The load gauges in a Prometheus text exposition; None when it has no vLLM request gauges."""
    waiting = running = 0.0
    kv_cache: float | None = None
    seen = False
    for line in text.splitlines():
        if not line.startswith("vllm:"):
            continue
        sample = _sample(line)
        if sample is None:
            continue
        name, value = sample
        if name == _WAITING:
            waiting += value
            seen = True
        elif name == _RUNNING:
            running += value
            seen = True
        else:
            kv_cache = value if kv_cache is None else max(kv_cache, value)
    if not seen:
        return None
    if kv_cache is not None:
        kv_cache = min(1.0, max(0.0, kv_cache))
    return VllmLoad(waiting=waiting, running=running, kv_cache_usage=kv_cache)


async def scrape_worker(provider: Provider, worker: Worker, timeout: float) -> bool:
    """Refresh one worker's load from its /metrics; False when the worker gave none."""
    if worker.scrape_skip > 0:
        worker.scrape_skip -= 1
        return False
    try:
        status, raw = await provider.probe(worker.url, "/metrics", timeout)
    except Exception as error:
        # The health checker decides up or down; a failed scrape only leaves the load estimate stale.
        log.debug("scrape of %s failed: %s", worker.url, error)
        return False
    load = parse_vllm_metrics(raw.decode("utf-8", "replace")) if status == 200 else None
    if load is None:
        worker.scrape_skip = SKIP_INTERVALS_AFTER_MISS
        return False
    worker.set_load(load, time.monotonic())
    return True


async def scrape_pool(pool: Pool, provider: Provider, timeout: float) -> None:
    workers = pool.workers
    if workers:
        await asyncio.gather(*(scrape_worker(provider, worker, timeout) for worker in workers))


def scraped(pool: Pool, provider: Provider) -> bool:
    """Whether the pool's workers are scraped: OpenAI-compatible ones with ``vllm_metrics`` on."""
    return pool.settings.vllm_metrics and provider.kind == "openai"


async def scrape_pools(pools: Iterable[tuple[Pool, Provider]], interval: float) -> None:
    """One round of scrapes over the pools that are scraped, each bounded by the interval (0.25 to 2 s)."""
    timeout = max(0.25, min(interval, 2.0))
    await asyncio.gather(
        *(scrape_pool(pool, provider, timeout) for pool, provider in pools if scraped(pool, provider))
    )
