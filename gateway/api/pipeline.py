"""The one path every OpenAI endpoint's request takes once it is parsed: through the policy chain
(``gateway.policies``) to its upstream, and back to the client as JSON or as an event stream.

Chat, completions and embeddings (routed, or served by the in-process model) differ only in the
``upstream`` they pass. The client may leave at any point before the answer starts: the work is then
cancelled and the request counted as 499.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from gateway.api.exchange import Exchange
from gateway.api.responses import json_response
from gateway.api.state import gateway_state
from gateway.api.streaming import SSE_HEADERS, EventStreamResponse, relay
from gateway.context import RequestContext
from gateway.policies import Call
from gateway.policies.base import Upstream

T = TypeVar("T")
MODEL_VERSION_HEADER = "x-genai-model-version"


async def serve(
    request: Request, exchange: Exchange, ctx: RequestContext, body: dict[str, Any], upstream: Upstream
) -> Response:
    """The response to one request: the chain's answer, from ``upstream`` unless a policy answered."""
    chain = gateway_state(request).chain
    call = Call(ctx, body)
    # Until a stream's first event arrived (retries and fallback happen there) the client may leave too.
    answer = await unless_client_leaves(request, chain.run(call, upstream))
    if answer is None:
        return client_left(exchange)
    headers = call.response_headers
    if ctx.model_version is not None:  # a registered version says which one answered
        headers = {**(headers or {}), MODEL_VERSION_HEADER: ctx.model_version}
    if isinstance(answer, dict):
        return json_response(answer, headers=headers)
    headers = SSE_HEADERS if headers is None else {**SSE_HEADERS, **headers}
    return EventStreamResponse(chain.events(call, relay(answer, exchange, ctx)), headers=headers)


def client_left(exchange: Exchange) -> Response:
    exchange.client_closed = True
    return Response(status_code=499)  # nobody reads it: the status is for the logs and metrics


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None once the client disconnected first: the work is then cancelled, so the
    router abandons the upstream request rather than keep a GPU busy for an answer nobody will read.

    One watcher task cancels this one on a disconnect: cheaper per request than running ``work`` in a task
    of its own and waiting for the first of two.
    """
    current = asyncio.current_task()
    assert current is not None
    left = False

    async def watch() -> None:
        nonlocal left
        await _disconnected(request.receive)
        left = True
        current.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if not left:
            raise  # cancelled from outside (shutdown): not ours to swallow
        current.uncancel()
        return None
    finally:
        watcher.cancel()


async def _disconnected(receive: Receive) -> None:
    # The body was read already: what is left on the channel is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass
