"""Encoding an upstream request body, with a client error for a body the encoder refuses.

orjson reads JSON nested up to 1024 levels but writes at most ``MAX_DEPTH``. A body nested deeper than
that inside a field the gateway passes through untouched (tool parameters, a JSON schema, a vendor's own
field) parses and validates, and then could not be sent on. Encoding is the one full pass such a body gets
anyway, so the check costs nothing on the way out: only when the encoder refuses is the client's body
walked, within a budget, to name the field, and the client gets a 400 instead of a 500.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import InvalidRequest

MAX_DEPTH = 254  # orjson's own limit on writing nested arrays and objects
_WALK_BUDGET = 200_000  # containers visited to name the too-deep field, at most
_PARAM_STEPS = 4  # a path's first steps name the field (tools.0.function.parameters)


def dumps_request(payload: Any, body: dict[str, Any]) -> bytes:
    """``payload`` as JSON bytes; a 400 naming the field of the client's ``body`` that is too deep."""
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError as error:
        raise too_deep_error(body, str(error)) from None


def too_deep_error(body: dict[str, Any], reason: str) -> InvalidRequest:
    path = too_deep_path(body)
    if path is None:
        return InvalidRequest(f"The request body cannot be forwarded ({reason}).")
    param = ".".join(str(step) for step in path[:_PARAM_STEPS])
    return InvalidRequest(
        f"Invalid value for '{param}': it nests arrays and objects deeper than the {MAX_DEPTH} levels "
        "the gateway can forward.",
        param=param,
    )


def too_deep_path(body: dict[str, Any]) -> list[str | int] | None:
    """The path to the first container nested deeper than ``MAX_DEPTH``, or None (none found in budget).

    Iterative, so a body nested up to the parser's 1024 levels cannot exhaust Python's recursion limit;
    each entry links to its parent's, so a step costs the same at any depth.
    """
    Link = tuple[str | int, Any] | None  # (step, the parent's link)
    stack: list[tuple[Any, int, Link]] = [(body, 1, None)]
    visited = 0
    while stack and visited < _WALK_BUDGET:
        node, depth, link = stack.pop()
        visited += 1
        if depth > MAX_DEPTH:
            path: list[str | int] = []
            while link is not None:
                step, link = link
                path.append(step)
            return path[::-1]
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for step, child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, (step, link)))
    return None
