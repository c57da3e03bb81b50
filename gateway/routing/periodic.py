"""Background loops (discovery, health checks, scraping) that run a step every N seconds until cancelled.

A failing step is logged and the loop goes on: one bad DNS answer or scrape must not stop routing updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_every(
    interval: float, step: Callable[[], Awaitable[object]], name: str, *, wait_first: bool = False
) -> None:
    """Await ``step()`` every ``interval`` seconds (measured start to start) until cancelled;
    ``wait_first`` when the caller already ran the first step itself."""
    loop = asyncio.get_running_loop()
    if wait_first:
        await asyncio.sleep(interval)
    while True:
        started = loop.time()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s failed; retrying in %.1fs", name, interval)
        await asyncio.sleep(max(0.0, interval - (loop.time() - started)))


def spawn(
    interval: float, step: Callable[[], Awaitable[object]], name: str, *, wait_first: bool = False
) -> asyncio.Task[None]:
    return asyncio.create_task(run_every(interval, step, name, wait_first=wait_first), name=f"gateway-{name}")
