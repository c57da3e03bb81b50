"""Serving a chat or text completion: validate, resolve the model, hand the client's dict to the router,
answer with its JSON or relay its event stream. Chat and text completions differ only in their model."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from gateway.api.body import read_body
from gateway.api.exchange import Exchange, exchange_of
from gateway.api.responses import json_response
from gateway.api.state import GatewayState, gateway_state
from gateway.api.streaming import SSE_HEADERS, EventStreamResponse, relay
from gateway.context import Endpoint, RequestContext
from gateway.errors import ModelNotFound
from gateway.protocol.common import SamplingRequest

T = TypeVar("T")


async def generate(request: Request, model: type[SamplingRequest], endpoint: Endpoint) -> Response:
    exchange = exchange_of(request.scope)
    exchange.endpoint = endpoint
    state = gateway_state(request)
    parsed, body = await read_body(request, model)
    exchange.model = parsed.model
    if not state.router.knows(parsed.model):
        raise unknown_model(state, parsed.model, endpoint)
    ctx = routed_context(request, exchange, parsed.model, endpoint, bool(parsed.stream), parsed.user)
    if ctx.stream:
        # Until the first event arrived (retries and fallback happen there) the client may leave too.
        events = await unless_client_leaves(request, state.router.stream(ctx, body))
        if events is None:
            return client_left(exchange)
        return EventStreamResponse(relay(events, exchange, ctx), headers=SSE_HEADERS)
    answer = await unless_client_leaves(request, state.router.complete(ctx, body))
    if answer is None:
        return client_left(exchange)
    return json_response(answer)


def routed_context(
    request: Request, exchange: Exchange, model: str, endpoint: Endpoint, stream: bool, user: str | None
) -> RequestContext:
    """The router's view of a request to a routed model, attached to the exchange for telemetry."""
    state = gateway_state(request)
    exchange.served = True
    ctx = RequestContext(
        request_id=exchange.request_id,
        model=model,
        endpoint=endpoint,
        deadline=exchange.started + state.settings.deadline_seconds,
        stream=stream,
        user=user,
        affinity_key=_affinity_key(state, request, user),
        started=exchange.started,
    )
    exchange.ctx = ctx
    return ctx


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


def unknown_model(state: GatewayState, model: str, endpoint: str) -> ModelNotFound:
    message = f"The model '{model}' does not exist or you do not have access to it."
    if model in state.settings.embedding_models and endpoint != "embeddings":
        message = f"The model '{model}' is an embedding model: use POST /v1/embeddings."
    return ModelNotFound(message, param="model")


def _affinity_key(state: GatewayState, request: Request, user: str | None) -> str | None:
    affinity = state.settings.affinity
    if affinity == "user":
        return user
    if affinity == "header":
        return request.headers.get(state.settings.affinity_header)
    return None
