"""POST /v1/embeddings, served in-process by the platform's embedding model (``gateway.embeddings``).

Loading the model imports torch and takes seconds, so it happens off the event loop: in a background
thread started after startup, or on the first request, whichever comes first. Encoding runs in a worker
thread too; the event loop keeps serving completions.

Model names are those in ``gateway.embedding_models``. Any other routed model is passed to the router,
which forwards the client's body to the model's upstreams (vLLM pooling workers, OpenAI, Azure...) with
the same retries, fallback and deadline as a completion; an upstream kind without an embeddings API
(Anthropic) is skipped, and a model served only by such kinds gets a 400 that says so.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from typing import Any, cast

import anyio.to_thread
import numpy as np
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.body import read_body
from gateway.api.exchange import exchange_of
from gateway.api.generate import model_context, pin, unknown_model
from gateway.api.openapi import body_schema
from gateway.api.pipeline import serve
from gateway.api.route import DirectRoute
from gateway.api.state import GatewayState, gateway_state
from gateway.context import RequestContext
from gateway.errors import DeadlineExceeded, InvalidRequest, RateLimited
from gateway.policies import Call
from gateway.protocol.common import error_responses
from gateway.protocol.embeddings import EmbeddingInput, EmbeddingRequest, EmbeddingResponse

MAX_INPUTS = 2048  # OpenAI's own limit per request

router = APIRouter(tags=["embeddings"], route_class=DirectRoute)


@router.post(
    "/v1/embeddings",
    summary="Create embeddings",
    response_model=None,
    openapi_extra=body_schema(EmbeddingRequest),
    responses={
        200: {"model": EmbeddingResponse, "description": "One vector per input, in order."},
        **error_responses(400, 404, 408, 413, 415, 429, 502, 503, 504),
    },
)
async def create_embeddings(request: Request) -> Response:
    """Embed texts with the platform's embedding model, or with a routed model's upstream."""
    exchange = exchange_of(request.scope)
    exchange.endpoint = "embeddings"
    state = gateway_state(request)
    parsed, body = await read_body(request, EmbeddingRequest)
    exchange.model = parsed.model
    if not state.embeddings.serves(parsed.model):
        if not state.router.knows(parsed.model):
            raise unknown_model(state, parsed.model, "embeddings")
        router = state.router
        ctx = model_context(request, exchange, parsed.model, "embeddings", False, parsed.user)
        pin(state, exchange, ctx)
        return await serve(request, exchange, ctx, body, lambda call: router.embed(call.ctx, call.body))
    texts = _texts(parsed.input)
    ctx = model_context(request, exchange, parsed.model, "embeddings", False, parsed.user)
    ctx.served_model = state.embeddings.settings.model

    async def embed_here(call: Call) -> dict[str, Any]:
        # A policy may narrow the inputs (the cache asks only for those it has not stored).
        asked = texts if call.body.get("input") is body.get("input") else _texts(call.body["input"])
        vectors, tokens = await _embed_bounded(state, call.ctx, asked, parsed.dimensions)
        call.ctx.usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {
            "object": "list",
            "data": _data(vectors, parsed.encoding_format),
            "model": parsed.model,
            "usage": call.ctx.usage,
        }

    return await serve(request, exchange, ctx, body, embed_here)


async def _embed_bounded(
    state: GatewayState, ctx: RequestContext, texts: list[str], dimensions: int | None
) -> tuple[np.ndarray, int]:
    """The service's vectors for ``texts``, within the gateway's bounds: a slot among the requests in
    flight (429 when none is free), the request's token budget and deadline, and the client's presence.

    When the caller stops waiting (the client left: ``serve`` cancels this; the deadline passed), the
    worker thread is told to stop before its next batch, and keeps its slot until it did.
    """
    service = state.embeddings
    ticket = service.admission.admit()
    if ticket is None:
        error = RateLimited(
            f"The gateway is already embedding {service.admission.limit} requests, as many as it allows; "
            "retry shortly.",
            code="embedding_capacity",
        )
        error.headers = {"retry-after": "1"}
        raise error
    stop = threading.Event()
    max_tokens = state.settings.request_limits.embedding_max_tokens

    def work() -> tuple[np.ndarray, int] | None:
        if not ticket.start():
            return None  # the caller gave up before this thread began
        try:
            return service.embed(texts, dimensions, max_tokens=max_tokens, stop=stop, deadline=ctx.deadline)
        finally:
            ticket.finish()

    try:
        async with asyncio.timeout(max(ctx.remaining(), 0.0)):
            result = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except TimeoutError:
        raise DeadlineExceeded("the request's deadline passed while its inputs were being embedded") from None
    finally:
        stop.set()
        ticket.give_up()
    assert result is not None  # None only once the caller stopped waiting
    return result


def _texts(value: EmbeddingInput) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not value:
        raise InvalidRequest("'input' must not be empty.", param="input")
    if not all(isinstance(item, str) for item in value):
        raise InvalidRequest(
            "'input' holds token ids: this model takes text only (a string or a list of strings).",
            param="input",
        )
    if len(value) > MAX_INPUTS:
        raise InvalidRequest(
            f"'input' holds {len(value)} texts; at most {MAX_INPUTS} are allowed.", param="input"
        )
    return cast(list[str], value)


def _data(vectors: np.ndarray, encoding_format: str) -> list[dict[str, Any]]:
    if encoding_format == "base64":
        little_endian = vectors.astype("<f4", copy=False)
        return [
            {"object": "embedding", "index": index, "embedding": base64.b64encode(row.tobytes()).decode()}
            for index, row in enumerate(little_endian)
        ]
    # orjson writes numpy rows directly (OPT_SERIALIZE_NUMPY): no list of Python floats in between.
    return [{"object": "embedding", "index": index, "embedding": row} for index, row in enumerate(vectors)]
