"""Hostile request bodies get a 400 that names the field, never a 500: values of the wrong JSON kind where
the gateway looks inside them, and nesting deeper than the encoder writes inside fields passed through to
the upstream. Over real HTTP to the gateway (real router) in front of the echoing fake upstream, which
shows what would have been forwarded (``test_fake_upstream_*``)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from gateway.upstreams.json_body import MAX_DEPTH
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream


def nested(levels: int) -> Any:
    """``levels`` nested objects: {"a": {"a": ... {} }}."""
    value: Any = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def nested_json(levels: int) -> bytes:
    # Built as text: orjson itself refuses to write what is under test.
    return b'{"a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)


def post_chat(http: httpx.Client, fields: bytes) -> httpx.Response:
    head = b'{"model":"' + CHAT_MODEL.encode() + b'","messages":' + orjson.dumps(USER)
    return http.post(
        "/v1/chat/completions", content=head + fields + b"}", headers={"content-type": "application/json"}
    )


def assert_openai_400(response: httpx.Response, param: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param in error["message"]
    return error


@pytest.mark.parametrize("kind", [{"a": 1}, [1, 2], None, 3])
def test_fake_upstream_content_part_type_of_wrong_kind_is_400(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream, kind: Any
) -> None:
    parts = [{"type": "text", "text": "hi"}, {"type": kind, "text": "hi"}]
    messages = [{"role": "user", "content": parts}]
    response = gateway_http.post("/v1/chat/completions", json={"model": CHAT_MODEL, "messages": messages})
    error = assert_openai_400(response, "messages.0.content.1.type")
    assert "string" in error["message"]
    assert echo_upstream.requests == []


@pytest.mark.parametrize(
    ("field", "kind"),
    [("role", {"a": 1}), ("role", ["user"]), ("content", {"text": "x"})],
)
def test_fake_upstream_message_fields_of_wrong_kind_are_400(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream, field: str, kind: Any
) -> None:
    message = {"role": "user", "content": "hi", field: kind}
    response = gateway_http.post("/v1/chat/completions", json={"model": CHAT_MODEL, "messages": [message]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith("messages.0")


def test_fake_upstream_response_format_type_of_wrong_kind_is_400(gateway_http: httpx.Client) -> None:
    body = {"model": CHAT_MODEL, "messages": USER, "response_format": {"type": ["json_object"]}}
    response = gateway_http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith("response_format")


# Where the client's nesting is the encoder's problem: each field reaches the upstream untouched. The
# field's own value starts at the body's second (or deeper) level, so MAX_DEPTH levels in it are too many.
_DEEP_FIELDS = [
    (
        b',"tools":[{"type":"function","function":{"name":"f","parameters":%s}}]',
        "tools.0.function.parameters",
    ),
    (
        b',"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":%s}}',
        "response_format.json_schema.schema",
    ),
    (b',"vendor_field":%s', "vendor_field"),
    (b',"metadata":{"k":"v"},"extra":[%s]', "extra.0"),
]


@pytest.mark.parametrize(("template", "param"), _DEEP_FIELDS, ids=[param for _, param in _DEEP_FIELDS])
def test_fake_upstream_nesting_deeper_than_the_encoder_writes_is_400(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream, template: bytes, param: str
) -> None:
    response = post_chat(gateway_http, template % nested_json(MAX_DEPTH))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"].startswith(param)
    assert f"'{error['param']}'" in error["message"] and str(MAX_DEPTH) in error["message"]
    assert echo_upstream.requests == []


def test_fake_upstream_nesting_the_encoder_writes_is_forwarded(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream
) -> None:
    """The bound is the encoder's own: one level less than refused above passes through intact."""
    response = post_chat(gateway_http, b',"vendor_field":%s' % nested_json(MAX_DEPTH - 1))
    assert response.status_code == 200, response.text
    assert echo_upstream.last()["body"]["vendor_field"] == nested(MAX_DEPTH - 1)


def test_fake_upstream_nesting_past_the_parser_limit_is_400(gateway_http: httpx.Client) -> None:
    response = post_chat(gateway_http, b',"vendor_field":%s' % nested_json(1100))
    assert response.status_code == 400, response.text
    assert "parse" in response.json()["error"]["message"]


def test_fake_upstream_deep_nesting_in_a_stream_request_is_400(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream
) -> None:
    response = post_chat(gateway_http, b',"stream":true,"vendor_field":%s' % nested_json(MAX_DEPTH))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith("vendor_field")
    assert echo_upstream.requests == []
