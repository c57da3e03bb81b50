"""GET /v1/models and GET /v1/models/{model}: the registered models that have a champion (with its
``version``, ``kind`` and every alias set: ``aliases`` {alias: version}), the routed models and the
embedding models; a credential restricted to some models sees only those (403 for another's details)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.exchange import exchange_of
from gateway.api.generate import unknown_model
from gateway.api.responses import json_response
from gateway.api.route import DirectRoute
from gateway.api.state import GatewayState, gateway_state
from gateway.echo import clip
from gateway.errors import PermissionDenied
from gateway.protocol.common import error_responses
from gateway.protocol.models import Model, ModelList

router = APIRouter(tags=["models"], route_class=DirectRoute)


def _allowed(request: Request, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries the caller's credential may use (all of them for an unrestricted one)."""
    principal = exchange_of(request.scope).principal
    if principal is None or principal.models is None:
        return entries
    return [entry for entry in entries if principal.may_use(entry["id"])]


def _listing(state: GatewayState) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for info in state.router.models():
        entry: dict[str, Any] = {
            "id": info.name,
            "object": "model",
            "created": state.created,
            "owned_by": info.owned_by,
        }
        if info.context_window is not None:
            entry["context_window"] = info.context_window
        if info.version is not None:
            entry.update(version=info.version, kind=info.kind, aliases=info.aliases or {})
        entries.append(entry)
    routed = {entry["id"] for entry in entries}
    for name in state.settings.embedding_models:
        if name not in routed:
            entries.append(
                {"id": name, "object": "model", "created": state.created, "owned_by": "genai-platform"}
            )
    return entries


@router.get(
    "/v1/models",
    summary="List models",
    response_model=None,
    responses={200: {"model": ModelList, "description": "Every model the gateway serves."}},
)
async def list_models(request: Request) -> Response:
    exchange_of(request.scope).endpoint = "models"
    return json_response({"object": "list", "data": _allowed(request, _listing(gateway_state(request)))})


@router.get(
    "/v1/models/{model:path}",
    summary="Retrieve a model",
    response_model=None,
    responses={200: {"model": Model, "description": "The model."}, **error_responses(404)},
)
async def retrieve_model(request: Request, model: str) -> Response:
    exchange_of(request.scope).endpoint = "models"
    state = gateway_state(request)
    for entry in _listing(state):
        if entry["id"] == model:
            if not _allowed(request, [entry]):
                raise PermissionDenied(
                    f"This credential may not use the model '{clip(model)}'.", param="model"
                )
            return json_response(entry)
    raise unknown_model(state, model, "models")
