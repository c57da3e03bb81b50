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


def add_component_schemas(
    document: dict[str, Any], models: Iterable[tuple[type[BaseModel], Literal["validation", "serialization"]]]
) -> None:
    """Add the models' schemas (and those they use) to ``document``; FastAPI's own entries win a clash."""
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = list(models)
    _, definitions = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)
