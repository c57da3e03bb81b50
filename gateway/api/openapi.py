"""OpenAPI documentation of bodies the endpoints read themselves.

The generation endpoints take the raw ``Request`` (so the body is parsed once with orjson and forwarded as
the client wrote it), which leaves FastAPI nothing to document. ``body_schema`` declares the request body by
reference and ``add_component_schemas`` puts the protocol models' JSON Schemas under
``components/schemas``, where those references point.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body follows ``model``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}},
        }
    }


def event_stream(chunk: str) -> dict[str, Any]:
    """The ``text/event-stream`` media type of a streaming answer whose events carry ``chunk`` objects.

    OpenAPI 3.1 has no way to say "a sequence of events" (3.2's ``itemSchema`` does), so ``schema``
    describes one event, as schema-driven tools read an event stream's schema: its ``data`` is the chunk
    as JSON, an error object (a failure after the stream started), or the ``[DONE]`` that ends the stream.
    """
    payload = {
        "anyOf": [
            {"$ref": REF_TEMPLATE.format(model=chunk)},
            {"$ref": REF_TEMPLATE.format(model="ErrorResponse")},
        ]
    }
    return {
        "schema": {
            "description": f"One server-sent event: `data: <{chunk} as JSON>`, `data: <an error object>` "
            "after a failure mid-stream, and last `data: [DONE]`.",
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": {
                    "anyOf": [
                        {"type": "string", "const": "[DONE]"},
                        {"type": "string", "contentMediaType": "application/json", "contentSchema": payload},
                    ]
                },
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer"},
            },
        }
    }


def add_component_schemas(
    document: dict[str, Any], models: Iterable[tuple[type[BaseModel], Literal["validation", "serialization"]]]
) -> None:
    """Add the models' schemas (and those they use) to ``document``; FastAPI's own entries win a clash."""
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = list(models)
    _, definitions = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)
