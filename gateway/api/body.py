"""Reading a request body: JSON bytes -> the client's dict, validated against a protocol model.

The dict the client sent is what the router forwards (fields the model does not declare included), so a
body is parsed once and never re-serialised before it leaves. Pydantic's errors become one 400 that names
the offending field the way a client wrote it (``messages.0.content``), never pydantic's internal path
(union branches and tags are dropped).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request

from gateway.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    """The validated request and the client's own dict."""
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        hint = "the body is empty" if not raw.strip() else f"{error.msg} at position {error.pos}"
        raise InvalidRequest(f"We could not parse the JSON body of your request ({hint}).") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return model.model_validate(data, strict=True), data
    except ValidationError as error:
        raise invalid_request(error.errors(include_url=False), data) from None


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
        kept.append(str(step))
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
