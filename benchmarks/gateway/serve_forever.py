"""Run an asyncio server until SIGINT or SIGTERM: the shared main loop of the benchmark's helper servers."""

from __future__ import annotations

import asyncio
import signal


async def serve_until_signalled(server: asyncio.Server, banner: str) -> None:
    """Print ``banner`` for the person watching, then serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(banner, flush=True)
    async with server:
        await stop.wait()
