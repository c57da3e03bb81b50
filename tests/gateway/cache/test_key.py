"""The cache key: one per tenant, per model version and per normalised body; what makes a request
cacheable; one key per embedding input."""

from __future__ import annotations

import time
from typing import Any

from gateway.cache.key import input_keys, is_deterministic, opted_in, request_key
from gateway.context import Endpoint, RequestContext
from gateway.principal import Principal

BODY: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}


def ctx(
    tenant: str | None = "acme",
    version: str | None = None,
    stream: bool = False,
    endpoint: Endpoint = "chat",
) -> RequestContext:
    principal = Principal(tenant=tenant, tier="default") if tenant else None
    context = RequestContext("r", "m", endpoint, time.monotonic() + 10, stream=stream, principal=principal)
    context.model_version = version
    return context


def test_tenants_never_share_a_key() -> None:
    assert request_key(ctx("acme"), BODY) != request_key(ctx("globex"), BODY)
    assert request_key(ctx(None), BODY) == request_key(ctx("anonymous"), BODY)


def test_the_model_version_is_part_of_the_key() -> None:
    assert request_key(ctx(version="m/1"), BODY) != request_key(ctx(version="m/2"), BODY)
    assert request_key(ctx(version="m/1"), BODY) == request_key(ctx(version="m/1"), BODY)


def test_field_order_and_the_user_field_do_not_change_the_key() -> None:
    reordered = dict(reversed(list(BODY.items())))
    assert request_key(ctx(), reordered) == request_key(ctx(), BODY)
    assert request_key(ctx(), {**BODY, "user": "someone"}) == request_key(ctx(), BODY)


def test_what_shapes_the_answer_changes_the_key() -> None:
    base = request_key(ctx(), BODY)
    assert request_key(ctx(), {**BODY, "max_tokens": 5}) != base
    assert request_key(ctx(), {**BODY, "n": 2}) != base
    assert request_key(ctx(), {**BODY, "messages": [{"role": "user", "content": "ho"}]}) != base
    assert request_key(ctx(endpoint="completions"), BODY) != base


def test_a_stream_and_a_plain_answer_have_keys_of_their_own() -> None:
    plain = request_key(ctx(), {**BODY, "stream": False})
    streamed = request_key(ctx(stream=True), {**BODY, "stream": True})
    with_usage = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    assert plain == request_key(ctx(), BODY)
    assert streamed != plain
    assert request_key(ctx(stream=True), with_usage) != streamed
    no_usage = {**BODY, "stream": True, "stream_options": {"include_usage": False}}
    assert request_key(ctx(stream=True), no_usage) == streamed


def test_only_deterministic_requests_are_cacheable() -> None:
    assert is_deterministic({"temperature": 0})
    assert is_deterministic({"temperature": 0.0})
    assert is_deterministic({"temperature": 0.9, "seed": 7})
    assert not is_deterministic({})  # OpenAI's default temperature is 1
    assert not is_deterministic({"temperature": 0.2, "seed": None})


def test_the_opt_in_header() -> None:
    header = "x-genai-cache-opt-in"
    assert opted_in({header: "true"}, header) and opted_in({header: " 1 "}, header)
    assert not opted_in({header: "no"}, header)
    assert not opted_in({}, header) and not opted_in(None, header)


def test_an_embedding_input_has_the_same_key_in_any_request() -> None:
    body = {"model": "e", "input": ["a", "b"]}
    one = input_keys(ctx(endpoint="embeddings"), body, ["a", "b"])
    other = input_keys(ctx(endpoint="embeddings"), {"model": "e", "input": ["b"]}, ["b"])
    assert one[1] == other[0] and one[0] != one[1]
    dims = input_keys(ctx(endpoint="embeddings"), {**body, "dimensions": 8}, ["a"])
    assert dims[0] != one[0]
    assert input_keys(ctx("globex", endpoint="embeddings"), body, ["a"])[0] != one[0]
