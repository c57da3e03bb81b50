"""Reading and checking a JSON answer (``gateway.policies.json_answer``): fences, the error's path, what a
schema may and may not be."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import InvalidRequest
from gateway.policies.json_answer import expected_format, parse


def as_schema(schema: Any) -> dict[str, Any]:
    return {"response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}}


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('```\n{"a": 1}\n```\n', '{"a": 1}'),
        ('  {"a": 1}  ', '{"a": 1}'),
        ('Here you go: ```json\n{"a": 1}\n```', 'Here you go: ```json\n{"a": 1}\n```'),  # not only a fence
        ('```json\n{"a": 1}\n```\nHope this helps', '```json\n{"a": 1}\n```\nHope this helps'),
    ],
)
def test_one_fence_around_the_whole_answer_is_tolerated(text: str, bare: str) -> None:
    assert parse(text) == bare


def test_the_problem_names_the_path_into_the_answer() -> None:
    schema = {"type": "object", "properties": {"people": {"type": "array", "items": {"type": "integer"}}}}
    expected = expected_format(as_schema(schema))
    assert expected is not None
    assert expected.problem('{"people": [1, 2]}')[1] is None
    value, problem = expected.problem('{"people": [1, "two"]}')
    assert value == {"people": [1, "two"]}
    assert problem is not None and problem.kind == "schema_mismatch"
    assert problem.message.startswith("at $.people[1]: 'two' is not of type 'integer'")
    assert expected.problem("{'people': []}")[1].kind == "invalid_json"  # type: ignore[union-attr]


def test_json_object_wants_an_object_and_text_wants_nothing() -> None:
    expected = expected_format({"response_format": {"type": "json_object"}})
    assert expected is not None
    assert expected.problem('{"any": "thing"}')[1] is None
    assert expected.problem("[1]")[1] is not None
    assert expected_format({"response_format": {"type": "text"}}) is None
    assert expected_format({}) is None


@pytest.mark.parametrize("schema", [{"type": "no-such-type"}, {"required": "name"}, [1, 2]])
def test_a_schema_that_is_no_schema_is_refused(schema: Any) -> None:
    with pytest.raises(InvalidRequest) as refused:
        expected_format(as_schema(schema))
    assert refused.value.param == "response_format.json_schema.schema"


def test_a_remote_ref_is_never_fetched() -> None:
    expected = expected_format(as_schema({"$ref": "http://127.0.0.1:9/schema.json"}))
    assert expected is not None
    with pytest.raises(InvalidRequest, match=r"\$ref"):
        expected.problem("{}")
