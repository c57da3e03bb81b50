"""Relaying the router's server-sent events to the client.

The router's iterator already yields SSE-framed OpenAI chunks; they go out as they are (no parsing, no
re-serialising). The relay only looks at a chunk's bytes to note time to first token and a mid-stream error
event, makes sure the stream ends with ``data: [DONE]`` even if the iterator broke its contract, and closes
the upstream when the client goes away: Starlette cancels the response when it sees ``http.disconnect``, and
``EventStreamResponse`` closes the iterator in every case so the upstream request is cancelled at once rather
than whenever the garbage collector gets to it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator

import anyio
import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.api.exchange import Exchange
from gateway.context import RequestContext
from gateway.errors import GatewayError, UpstreamFailed
from gateway.sse import DONE, error_event

logger = logging.getLogger(__name__)

_ERROR_EVENT = re.compile(rb'^data: ?\{\s*"error"')
# A chunk that carries generated output (not just the assistant role or an empty string).
_CONTENT = re.compile(rb'"(?:content|text|reasoning_content)":\s*"[^"]|"tool_calls":\s*\[\s*\{')
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` whose body iterator is always closed, on a disconnect too."""

    media_type = "text/event-stream"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()


async def relay(
    events: AsyncIterator[bytes], exchange: Exchange, ctx: RequestContext
) -> AsyncIterator[bytes]:
    """The router's events as they come, then ``[DONE]`` if the router did not send it."""
    done = False
    first_output = True
    failure: GatewayError | None = None
    try:
        async for event in events:
            if first_output and _CONTENT.search(event):
                exchange.ttft = time.monotonic() - ctx.started
                first_output = False
            if event.endswith(DONE):
                done = True
            elif _ERROR_EVENT.match(event):
                exchange.fail("stream_error", _error_message(event))
            yield event
    except GatewayError as error:
        failure = error
    except Exception as error:
        logger.exception("stream of request %s failed", exchange.request_id)
        failure = UpstreamFailed(f"The upstream stream failed: {type(error).__name__}.")
    except BaseException:
        # Cancelled (the client disconnected) or closed before the end.
        if not done:
            exchange.client_closed = True
        raise
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
    if failure is not None:
        exchange.fail(failure.code or failure.type, failure.message)
        yield error_event(failure)
    if not done:
        yield DONE


def _error_message(event: bytes) -> str:
    try:
        return str(orjson.loads(event[event.index(b"{") :])["error"].get("message", ""))
    except (ValueError, KeyError, AttributeError, TypeError):
        return "error event"
