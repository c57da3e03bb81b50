"""Exception handlers: every error the app answers has OpenAI's body, ``{"error": {message, type, param,
code}}``, whatever raised it (the gateway itself, the router, FastAPI's parameter validation, Starlette's
routing for unknown paths and methods)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.exchange import exchange_of
from gateway.api.responses import error_response
from gateway.echo import clip
from gateway.errors import GatewayError, InvalidRequest

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


async def gateway_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, GatewayError)
    exchange_of(request.scope).fail(error.code or error.type, error.message)
    return error_response(error, headers=error.headers)


async def http_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404 and error.detail == "Not Found":
        message = f"Unknown request URL: {clip(request.method)} {clip(request.url.path)}."
    elif error.status_code == 405:
        message = f"Method {clip(request.method)} is not allowed on {clip(request.url.path)}."
    else:
        message = str(error.detail)
    failure = GatewayError(message, status=error.status_code, code=_HTTP_CODES.get(error.status_code))
    failure.type = "invalid_request_error" if error.status_code < 500 else "server_error"
    exchange_of(request.scope).fail(failure.code or failure.type, message)
    headers = error.headers
    if error.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return error_response(failure, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some endpoint serves at this path: Starlette's own Allow names only the first route's,
    and a path such as /v1/files has one route per method."""
    from fastapi.routing import APIRoute

    from gateway.api import api_routers

    methods: set[str] = set()
    for router in api_routers():
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path_regex.match(request.url.path):
                methods.update(route.methods or ())
    return sorted(methods)


async def validation_error_handler(request: Request, error: Exception) -> Response:
    """Path and query parameters FastAPI validated (bodies are validated by ``gateway.api.body``)."""
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    param = ".".join(str(step) for step in first["loc"][1:]) or None  # loc[0] is "path" or "query"
    failure = InvalidRequest(f"Invalid value for '{param}': {first['msg']}.", param=param)
    exchange_of(request.scope).fail(failure.code or failure.type, failure.message)
    return error_response(failure)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, gateway_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
