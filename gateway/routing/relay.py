"""A routed stream once its first event arrived: relayed event by event until the upstream's end, bounded
by the request's deadline and the upstream's idle timeout.

Before the first event the router may still retry or fall back (``first_event`` is one such try); after it
a failure ends the stream with one SSE error event and ``[DONE]``, since bytes already reached the client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from gateway.context import RequestContext
from gateway.errors import DeadlineExceeded, GatewayError, UpstreamFailed
from gateway.routing.worker import Lease, Worker
from gateway.sse import DONE, error_event
from gateway.telemetry.metrics import ERRORS
from gateway.upstreams.base import UpstreamStream
from gateway.upstreams.errors import UpstreamError
from gateway.upstreams.provider import Provider

log = logging.getLogger(__name__)


async def first_event(
    provider: Provider, model: str, worker: Worker, ctx: RequestContext, body: dict[str, Any]
) -> tuple[UpstreamStream, bytes]:
    """Open a stream on ``worker`` and read its first event; the stream is closed if that fails."""
    upstream = await provider.open_stream(worker.url, ctx, body, model)
    try:
        return upstream, await upstream.__anext__()
    except StopAsyncIteration:
        upstream.close()
        raise UpstreamError("upstream stream ended without any event", reason="malformed") from None
    except BaseException:
        upstream.close()
        raise


async def relay(
    ctx: RequestContext, lease: Lease, upstream: UpstreamStream, first: bytes, idle_timeout: float
) -> AsyncIterator[bytes]:
    """The stream's events, ``first`` included, then ``[DONE]``; records usage and the router's stop time
    on ``ctx`` and gives the worker back however the stream ends."""
    failure: GatewayError | None = None
    verdict: bool | None = None
    upstream.watch(ctx.deadline, idle_timeout)
    try:
        yield first
        async for event in upstream:
            yield event
        verdict = True
    except UpstreamError as error:
        verdict = False if error.worker_fault else None
        ERRORS.labels(ctx.model, lease.worker.url, error.reason).inc()
        log.warning(
            "request %s: stream from %s broke (%s): %s",
            ctx.request_id,
            lease.worker.url,
            error.reason,
            error.message,
        )
        if error.reason == "deadline":
            failure = DeadlineExceeded("the request's deadline passed during the stream")
        else:
            failure = UpstreamFailed(f"the upstream stream broke: {error.reason}")
    finally:
        # Also runs when the client went away (GeneratorExit / cancellation): no verdict then.
        upstream.close()
        lease.finish(verdict)
        if upstream.usage is not None:
            ctx.usage = upstream.usage
        ctx.router_stopped = time.monotonic()
    if failure is not None:
        yield error_event(failure)
    yield DONE
