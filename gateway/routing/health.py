"""Active health checks: each worker's health path is polled and the worker marked up or down.

A worker counts as up when it answers below 500: vLLM's /health says 200 or 5xx (engine dead), while a
hosted vendor without such a path answers 404, which still proves it is reachable. Two failed checks in a
row mark a worker down; one success brings it back. The router also marks a worker down at once when a
request cannot connect to it, and this checker is what brings it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from gateway.routing.pool import Pool
from gateway.routing.worker import Worker
from gateway.upstreams.provider import Provider

log = logging.getLogger(__name__)


async def check_worker(provider: Provider, worker: Worker, path: str, timeout: float) -> bool:
    """Probe one worker and record the verdict; returns whether it is healthy."""
    try:
        status, _ = await provider.probe(worker.url, path, timeout)
        ok = status < 500
    except Exception as error:
        log.debug("health check of %s failed: %s", worker.url, error)
        ok = False
    if worker.mark_health(ok):
        log.warning("worker %s of %s is %s", worker.url, worker.upstream, "up" if worker.up else "down")
    return ok


async def check_pool(pool: Pool, provider: Provider, timeout: float) -> None:
    path = pool.settings.health_path
    if path and pool.workers:
        await asyncio.gather(*(check_worker(provider, worker, path, timeout) for worker in pool.workers))


async def check_pools(pools: Iterable[tuple[Pool, Provider]], interval: float) -> None:
    """One round of checks over every pool, each probe bounded by the interval (0.5 to 5 s)."""
    timeout = max(0.5, min(interval, 5.0))
    await asyncio.gather(*(check_pool(pool, provider, timeout) for pool, provider in pools))
