"""Checking an answer against a request's ``response_format``: the expected format read from the body
(``expected_format``), the answer's JSON found in its text (``parse``) and checked (``Expected.problem``).

``{"type": "json_object"}`` wants one JSON object; ``{"type": "json_schema", "json_schema": {"schema":
...}}`` wants JSON that the schema (any draft ``jsonschema`` knows; the latest when it names none) accepts.
The text may be wrapped in one Markdown code fence (```` ```json ... ``` ````), as small models often do:
the fence is tolerated and the answer's content becomes the bare JSON. Anything else around the JSON is
an error. A schema's remote ``$ref`` is never fetched. Validators are built once per distinct schema
(a bounded cache).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from gateway.errors import InvalidRequest

_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*[ \t]*\r?\n(.*?)\r?\n?```\s*\Z", re.DOTALL)
_MESSAGE_CHARS = 300  # a validation message goes into the retry prompt and the error: keep it short
PARAM = "response_format"


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an answer failed: ``kind`` is "invalid_json" or "schema_mismatch"; ``message`` names where."""

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class Expected:
    """What a request's answers must be: a JSON object, or JSON its schema accepts (``schema_key`` is the
    schema as canonical JSON, the validator cache's key; None: any JSON object)."""

    schema_key: bytes | None

    def problem(self, text: str) -> tuple[Any, Problem | None]:
        """The JSON ``text`` holds (None when it holds none) and what is wrong with it, if anything."""
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as decode:
            return None, Problem("invalid_json", f"the answer is not JSON ({_clip(str(decode))})")
        if self.schema_key is None:
            if not isinstance(value, dict):
                return value, Problem("invalid_json", "the answer is JSON but not an object")
            return value, None
        from jsonschema.exceptions import best_match
        from referencing.exceptions import Unresolvable

        try:
            error = best_match(_validator(self.schema_key).iter_errors(value))
        except Unresolvable as unresolvable:  # a $ref to another document: never fetched
            raise InvalidRequest(
                f"response_format.json_schema.schema has a $ref the gateway cannot resolve: {unresolvable}",
                param=f"{PARAM}.json_schema.schema",
            ) from None
        if error is None:
            return value, None
        return value, Problem("schema_mismatch", f"at {error.json_path}: {_clip(error.message)}")


def expected_format(body: dict[str, Any]) -> Expected | None:
    """What ``body``'s ``response_format`` asks answers to be; None for text (or none). A schema that is
    not a valid JSON schema is a 400 here, before any upstream is asked."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return Expected(None)
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if schema is None:
        return Expected(None)
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    from jsonschema.exceptions import SchemaError

    try:
        _validator(key)
    except SchemaError as error:
        raise InvalidRequest(
            f"response_format.json_schema.schema is not a valid JSON schema: {_clip(error.message)}",
            param=f"{PARAM}.json_schema.schema",
        ) from None
    return Expected(key)


def parse(text: str) -> str:
    """``text`` without one Markdown code fence around the whole of it."""
    fenced = _FENCE.match(text)
    return fenced.group(1).strip() if fenced else text.strip()


@lru_cache(maxsize=256)
def _validator(schema_key: bytes) -> Any:
    from jsonschema import validators

    schema = orjson.loads(schema_key)
    if not isinstance(schema, dict | bool):
        from jsonschema.exceptions import SchemaError

        raise SchemaError("a schema is an object or a boolean")
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"
