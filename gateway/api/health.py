"""Probes: GET /healthz and GET /health (liveness: the process answers) and GET /readyz (readiness: every
routed model has an upstream with a worker up, the model registry was read once when it has a store, and
the embedding model is loaded when the gateway loads it at start-up).

A lazily loaded embedding model (`genai gateway --lazy-embeddings`) does not hold readiness back: nothing
would load it before the first request, which a not-ready gateway would never get.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.responses import json_response
from gateway.api.route import DirectRoute
from gateway.api.state import gateway_state

router = APIRouter(tags=["health"], route_class=DirectRoute)


@router.get("/healthz", summary="Liveness", response_model=None)
async def healthz() -> Response:
    """200 while the process serves requests; nothing upstream is consulted."""
    return json_response({"status": "ok"})


@router.get("/health", summary="Liveness (alias of /healthz)", response_model=None)
async def health() -> Response:
    """The same as /healthz, under the name vLLM and many load balancers probe by default."""
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=None,
    responses={
        503: {"description": "Some routed model has no worker up, or the embedding model is loading."}
    },
)
async def readyz(request: Request) -> Response:
    """200 when the router is ready and the embedding model it serves is loaded, else 503 with the reasons;
    the body carries the router's and the embedding model's status either way."""
    state = gateway_state(request)
    reasons = []
    if not state.router.ready():
        reasons.append(
            "some routed model has no upstream with a worker up, or the model registry was not read yet "
            "(see router)"
        )
    embeddings = state.embeddings
    waiting = bool(embeddings.names) and embeddings.warming and not embeddings.loaded
    if waiting:
        reasons.append(
            f"the embedding model {embeddings.settings.model!r} "
            + (f"could not be loaded: {embeddings.load_error}" if embeddings.load_error else "is loading")
        )
    body: dict[str, Any] = {
        "status": "not_ready" if reasons else "ready",
        "router": state.router.status(),
        "embeddings": {
            "models": sorted(embeddings.names),
            "loaded": embeddings.loaded,
            "loads_at_start": embeddings.warming,
        },
    }
    if reasons:
        body["reasons"] = reasons
    return json_response(body, 503 if reasons else 200)
