"""Serving a chat or text completion: validate, resolve the model, and hand the client's dict to the
router through the policy chain (``gateway.api.pipeline``). Chat and text completions differ only in
their model."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.api.body import read_body
from gateway.api.exchange import Exchange, exchange_of
from gateway.api.pipeline import serve
from gateway.api.state import GatewayState, gateway_state
from gateway.context import Endpoint, RequestContext
from gateway.echo import clip
from gateway.errors import GatewayError, ModelNotFound
from gateway.protocol.common import SamplingRequest


async def generate(request: Request, model: type[SamplingRequest], endpoint: Endpoint) -> Response:
    exchange = exchange_of(request.scope)
    exchange.endpoint = endpoint
    state = gateway_state(request)
    parsed, body = await read_body(request, model)
    exchange.model = parsed.model
    if not state.router.knows(parsed.model):
        raise unknown_model(state, parsed.model, endpoint)
    ctx = model_context(request, exchange, parsed.model, endpoint, bool(parsed.stream), parsed.user)
    router = state.router
    pin(state, exchange, ctx)
    if ctx.stream:
        return await serve(request, exchange, ctx, body, lambda call: router.stream(call.ctx, call.body))
    return await serve(request, exchange, ctx, body, lambda call: router.complete(call.ctx, call.body))


def model_context(
    request: Request, exchange: Exchange, model: str, endpoint: Endpoint, stream: bool, user: str | None
) -> RequestContext:
    """The context of a request for a model the gateway serves (routed, or the in-process embedding
    model), attached to the exchange for its usage record."""
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
        principal=exchange.principal,
        client_request_id=exchange.client_request_id,
        headers=request.headers,
    )
    exchange.ctx = ctx
    return ctx


def pin(state: GatewayState, exchange: Exchange, ctx: RequestContext) -> None:
    """Settle the version serving the request (``ModelRouter.pin``). A reference the router refuses (an
    unknown version, say) is not a served name: it must not become a metric label."""
    try:
        state.router.pin(ctx)
    except GatewayError:
        exchange.served = False
        raise


def unknown_model(state: GatewayState, model: str, endpoint: str) -> ModelNotFound:
    message = f"The model '{clip(model)}' does not exist or you do not have access to it."
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
