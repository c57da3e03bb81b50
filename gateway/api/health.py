"""Probes: GET /healthz (liveness: the process answers) and GET /readyz (readiness: every routed model
has an upstream with a worker up)."""

from __future__ import annotations

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


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=None,
    responses={503: {"description": "Some routed model has no worker up."}},
)
async def readyz(request: Request) -> Response:
    """200 when the router is ready, else 503; the body carries the router's status either way.

    The embedding model does not count: it loads lazily and a not-yet-loaded model still serves (slowly).
    """
    state = gateway_state(request)
    ready = state.router.ready()
    body = {
        "status": "ready" if ready else "not_ready",
        "router": state.router.status(),
        "embeddings": {"models": sorted(state.embeddings.names), "loaded": state.embeddings.loaded},
    }
    return json_response(body, 200 if ready else 503)
