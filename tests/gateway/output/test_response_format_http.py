"""The ``response_format`` policy through a real gateway over HTTP, in front of the scripted fake upstream
(a model that answers invalid JSON on purpose): valid answers pass, an invalid one is asked again with the
error and both attempts' tokens count, two invalid ones are a 502, a bad schema is a 400, a stream gets an
error event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.gateway.output.ledger_rows import ledger_rows
from tests.gateway.output.scripted import Script, chat_body, output_settings, serving, stream_chunks

CHAT = "/v1/chat/completions"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
AS_SCHEMA = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}
AS_OBJECT = {"type": "json_object"}
VALID = '{"name": "Ada", "age": 36}'
WRONG_TYPE = '{"name": "Ada", "age": "thirty-six"}'
POLICIES = ["response_format", "ledger"]


def ask(http: Any, response_format: dict[str, Any], **fields: Any) -> Any:
    return http.post(CHAT, json=chat_body("who?", response_format=response_format, **fields))


def test_fake_upstream_a_valid_answer_passes_unchanged(tmp_path: Path, script: Script) -> None:
    settings = output_settings(tmp_path, script, POLICIES)
    with serving(settings) as http:
        script.say(VALID)
        schema = ask(http, AS_SCHEMA)
        obj = ask(http, AS_OBJECT)
        script.say("not json at all")
        text = ask(http, {"type": "text"})  # no format to check
    assert schema.status_code == obj.status_code == text.status_code == 200
    assert schema.json()["choices"][0]["message"]["content"] == VALID
    assert text.json()["choices"][0]["message"]["content"] == "not json at all"
    assert len(script.requests) == 1
    rows = ledger_rows(settings)
    row = rows[schema.headers["x-request-id"]]
    assert row.response_retries == 0 and row.guard_events is None and row.attempts == 1


def test_fake_upstream_a_fenced_answer_is_sent_bare(tmp_path: Path, script: Script) -> None:
    with serving(output_settings(tmp_path, script, POLICIES)) as http:
        script.say(f"```json\n{VALID}\n```")
        answer = ask(http, AS_SCHEMA)
    assert answer.json()["choices"][0]["message"]["content"] == VALID


def test_fake_upstream_invalid_then_valid_is_retried_once_and_both_attempts_count(
    tmp_path: Path, script: Script
) -> None:
    settings = output_settings(tmp_path, script, POLICIES)
    with serving(settings) as http:
        script.say(WRONG_TYPE, VALID)
        answer = ask(http, AS_SCHEMA)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == VALID
    first, retry = script.requests
    assert first["messages"] == [{"role": "user", "content": "who?"}]
    # The retry carries the invalid answer and what was wrong with it, where.
    assert retry["messages"][:2] == [first["messages"][0], {"role": "assistant", "content": WRONG_TYPE}]
    assert retry["messages"][2]["role"] == "user" and "at $.age" in retry["messages"][2]["content"]
    assert retry["response_format"] == AS_SCHEMA
    # Usage: 10 prompt tokens per message (1, then 3), one completion token per word (4, then 4).
    usage = answer.json()["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (40, 8, 48)
    row = ledger_rows(settings)[answer.headers["x-request-id"]]
    assert (row.prompt_tokens, row.completion_tokens) == (40, 8)
    assert row.response_retries == 1 and row.attempts == 2
    assert row.guard_events == "output:schema:schema_mismatch:retry"


def test_fake_upstream_invalid_twice_is_a_502_naming_the_failure(tmp_path: Path, script: Script) -> None:
    settings = output_settings(tmp_path, script, POLICIES)
    with serving(settings) as http:
        script.say("Sure! Here it is: {", WRONG_TYPE)
        failed = ask(http, AS_SCHEMA)
        script.say("[1, 2]")
        not_object = ask(http, AS_OBJECT)
    assert failed.status_code == 502
    error = failed.json()["error"]
    assert error["code"] == "response_format_failed" and error["param"] == "response_format"
    assert error["type"] == "upstream_error"
    assert "after 1 retry" in error["message"] and "at $.age" in error["message"]
    assert not_object.status_code == 502 and "not an object" in not_object.json()["error"]["message"]
    row = ledger_rows(settings)[failed.headers["x-request-id"]]
    assert row.status == 502 and row.response_retries == 1
    assert row.guard_events == "output:schema:invalid_json:retry,output:schema:schema_mismatch:block"
    assert (row.prompt_tokens, row.completion_tokens) == (40, 9)  # both attempts, though it failed


def test_fake_upstream_a_tenant_may_have_no_retries(tmp_path: Path, script: Script) -> None:
    settings = output_settings(tmp_path, script, POLICIES, output={"json_retries": 0})
    with serving(settings) as http:
        script.say(WRONG_TYPE, VALID)
        failed = ask(http, AS_SCHEMA)
    assert failed.status_code == 502 and "retry" not in failed.json()["error"]["message"]
    assert len(script.requests) == 1


def test_fake_upstream_an_invalid_schema_is_a_400_before_the_model_is_asked(
    tmp_path: Path, script: Script
) -> None:
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}}
    with serving(output_settings(tmp_path, script, POLICIES)) as http:
        script.say(VALID)
        refused = ask(http, bad)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "response_format.json_schema.schema"
    assert script.requests == []


@pytest.mark.parametrize(("answer", "valid"), [(VALID, True), (WRONG_TYPE, False)])
def test_fake_upstream_a_stream_is_checked_at_its_end(
    tmp_path: Path, script: Script, answer: str, valid: bool
) -> None:
    settings = output_settings(tmp_path, script, POLICIES)
    with serving(settings) as http:
        script.say(answer, piece=4)
        streamed = ask(http, AS_SCHEMA, stream=True)
    lines = [line for line in streamed.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    last = orjson.loads(lines[-2][6:])
    if valid:
        assert "error" not in last
        assert len(stream_chunks(streamed)) > 3
    else:
        assert last["error"]["code"] == "response_format_failed" and "at $.age" in last["error"]["message"]
    row = ledger_rows(settings)[streamed.headers["x-request-id"]]
    assert row.response_retries == 0
    assert row.guard_events == (None if valid else "output:schema:schema_mismatch:flag")


def test_fake_upstream_validated_first_then_filtered(tmp_path: Path, script: Script) -> None:
    """In the default chain's order the answer is checked as the model gave it, then redacted: the
    placeholder sits inside a JSON string, so the client still gets valid JSON."""
    settings = output_settings(
        tmp_path, script, ["response_format", "output_filter"], output={"pii": "redact"}
    )
    schema = {"type": "object", "properties": {"contact": {"type": "string", "format": "email"}}}
    response_format = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    with serving(settings) as http:
        script.say('{"contact": "ada@example.com"}', piece=3)
        plain = ask(http, response_format)
        streamed = ask(http, response_format, stream=True)
    assert orjson.loads(plain.json()["choices"][0]["message"]["content"]) == {"contact": "[EMAIL]"}
    text = "".join(
        (c.get("delta") or {}).get("content") or "" for k in stream_chunks(streamed) for c in k["choices"]
    )
    assert orjson.loads(text) == {"contact": "[EMAIL]"}
