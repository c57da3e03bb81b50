"""Reading a request body: JSON bytes -> the client's dict, validated against a protocol model.

The dict the client sent is what the router forwards (fields the model does not declare included), so a
body is parsed once and never re-serialised before it leaves. Pydantic's errors become one 400 that names
the offending field the way a client wrote it (``messages.0.content``), never pydantic's internal path
(union branches and tags are dropped).

Before that: the body must be declared JSON (a browser page may post ``text/plain`` or a form to a gateway
on localhost without asking first; it cannot send ``application/json`` without a CORS preflight), a client
that leaves mid-body is a 499, not a failure, and ``gateway.api.shape`` bounds every list before pydantic
sees it.
"""

from __future__ import annotations

import gc
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import ClientDisconnect, Request

from gateway.api.shape import check_shape
from gateway.api.state import gateway_state
from gateway.echo import clip
from gateway.errors import ClientClosedRequest, InvalidRequest, RequestTimeout, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

# Set in the ASGI scope by the server's protocol when the body did not arrive in time (it answered 408).
BODY_TIMED_OUT = "genai.body_timed_out"
_PAUSE_GC_BYTES = 256 * 1024  # parsing a body this large allocates enough to trigger collections
_MAX_ERRORS = 100  # validation errors looked at to name the failing field


async def read_body(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    """The validated request and the client's own dict."""
    content_type = request.headers.get("content-type")
    if content_type != "application/json" and not is_json(content_type):
        raise UnsupportedMediaType(
            f"The request body must be JSON, sent with 'Content-Type: application/json' "
            f"(this request's is {clip(content_type) if content_type else 'missing'})."
        )
    try:
        raw = await request.body()
    except ClientDisconnect:
        if request.scope.get(BODY_TIMED_OUT):
            raise RequestTimeout("The request body did not arrive in time.") from None
        raise ClientClosedRequest("The client closed the connection before its body arrived.") from None
    data = _parse(raw)
    check_shape(data, model, gateway_state(request).settings.request_limits)
    try:
        return model.model_validate(data, strict=True), data
    except ValidationError as error:
        raise invalid_request(error.errors(include_url=False)[:_MAX_ERRORS], data) from None


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header declares JSON: ``application/json``, any parameters, UTF-8 if a
    charset is named (JSON is UTF-8)."""
    if not content_type:
        return False
    media, _, parameters = content_type.partition(";")
    if media.strip().lower() != "application/json":
        return False
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _parse(raw: bytes) -> dict[str, Any]:
    # A large body of tiny items allocates millions of containers: collections in the middle of parsing
    # would walk them again and again (measured 3x the parse itself). The parsed body is freed or kept
    # whole afterwards, so nothing is gained by collecting during the parse.
    pause = len(raw) > _PAUSE_GC_BYTES and gc.isenabled()
    if pause:
        gc.disable()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        hint = "the body is empty" if not raw.strip() else f"{error.msg} at position {error.pos}"
        raise InvalidRequest(f"We could not parse the JSON body of your request ({hint}).") from None
    finally:
        if pause:
            gc.enable()
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return data


def invalid_request(errors: list[ErrorDetails], data: Any) -> InvalidRequest:
    """One ``InvalidRequest`` for a validation failure.

    It names the most specific field that failed: when a union's branches all fail (content given as a
    list of parts, one part lacking its text), the deepest failure is the one the client meant to fix. Every
    reason that field failed for is listed, and other failing fields are mentioned.
    """
    params = [param_for(error, data) for error in errors]
    depths = [param.count(".") + 1 if param else 0 for param in params]
    param = params[depths.index(max(depths))]
    reasons: list[str] = []
    for error, error_param in zip(errors, params, strict=True):
        if error_param == param and (reason := _reason(error)) not in reasons:
            reasons.append(reason)
    text = "; or ".join(reasons[:4])
    message = f"Invalid value for '{param}': {text}" if param else f"Invalid request: {text}"
    others = [p for p in dict.fromkeys(params) if p != param and not (param or "").startswith(f"{p}.")]
    if others:
        message += f" (also invalid: {', '.join(p or 'body' for p in others[:5])})"
    return InvalidRequest(message + ".", param=param)


def _reason(error: ErrorDetails) -> str:
    msg = error["msg"]
    if error["type"] == "missing":
        return "this field is required"
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    return msg[0].lower() + msg[1:] if msg else msg


def param_for(error: ErrorDetails, data: Any) -> str | None:
    """The dotted path of the failing field in the client's body.

    Pydantic's location also holds the union branch or tag it tried (``messages.0.user.content``); walking
    the location through the client's data keeps only the steps that exist there. The last step is kept even
    when absent: that is the missing field.
    """
    loc = error["loc"]
    kept: list[str] = []
    node = data
    for position, step in enumerate(loc):
        found, child = _child(node, step)
        if found:
            node = child
        elif not (position == len(loc) - 1 and isinstance(step, str) and error["type"] == "missing"):
            continue
        kept.append(clip(step))  # a key of the client's body: it may be any length
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(error.get("ctx", {}).get("discriminator", "")).strip("'")
        if discriminator:
            kept.append(discriminator)
    return ".".join(kept) or None


def _child(node: Any, step: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and isinstance(step, str) and step in node:
        return True, node[step]
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return True, node[step]
    return False, None
