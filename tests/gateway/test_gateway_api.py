"""The gateway's HTTP layer end to end: the official openai client -> the gateway (real router) -> a fake
OpenAI-compatible upstream that echoes and records what it receives, all over real HTTP. The fake is what
lets these tests see the exact bytes and headers the gateway forwards (``test_fake_upstream_*``); the same
endpoints against real vLLM are in test_gateway_vllm.py; how router failures are mapped is in
test_gateway_api_faults.py; models, probes, metrics, the OpenAPI document and HTTP errors are in
test_gateway_endpoints.py."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import openai
import pytest

from tests.fixtures.gateway import (
    CHAT_MODEL,
    UPSTREAM_MODEL,
    USER,
    EchoUpstream,
    ServerThread,
)

# --- chat and text completions through the real router --------------------------------------------------


def test_fake_upstream_chat_completion_with_openai_client(
    gateway_client: openai.OpenAI, echo_upstream: EchoUpstream
) -> None:
    answer = gateway_client.chat.completions.create(model=CHAT_MODEL, messages=USER, temperature=0, seed=7)
    assert answer.choices[0].message.content == "echo: hello big world"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == CHAT_MODEL
    assert answer.usage is not None
    usage = answer.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 4, 7)
    forwarded = echo_upstream.last()["body"]
    assert forwarded["model"] == UPSTREAM_MODEL
    assert forwarded["temperature"] == 0 and forwarded["seed"] == 7


def test_fake_upstream_body_is_forwarded_as_sent(
    gateway_client: openai.OpenAI, echo_upstream: EchoUpstream
) -> None:
    """Vendor fields pass through untouched; fields the client did not set are not invented."""
    gateway_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        max_completion_tokens=50,
        extra_body={"top_k": 5, "guided_choice": ["a", "b"], "vendor": {"nested": [1, 2]}},
    )
    forwarded = echo_upstream.last()["body"]
    assert forwarded["top_k"] == 5 and forwarded["guided_choice"] == ["a", "b"]
    assert forwarded["vendor"] == {"nested": [1, 2]}
    assert forwarded["max_completion_tokens"] == 50
    assert "temperature" not in forwarded and "n" not in forwarded and "tools" not in forwarded


def test_fake_upstream_full_chat_body_is_accepted(
    gateway_client: openai.OpenAI, echo_upstream: EchoUpstream
) -> None:
    messages: Any = [
        {"role": "developer", "content": "be brief"},
        {"role": "system", "content": [{"type": "text", "text": "you echo"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "user", "content": "say it"},
    ]
    answer = gateway_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        n=2,
        stop=["it"],
        max_tokens=20,
        top_p=0.9,
        presence_penalty=0.5,
        frequency_penalty=0.1,
        logit_bias={"50256": -100},
        user="u-1",
        # "text": the echo's answer is not JSON, and the response_format policy would rightly refuse it
        # (json_schema bodies are accepted and checked in tests/gateway/output/).
        response_format={"type": "text"},
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        tool_choice="auto",
        logprobs=True,
        top_logprobs=2,
    )
    assert [choice.message.content for choice in answer.choices] == ["echo: say", "echo: say"]
    forwarded = echo_upstream.last()["body"]
    assert forwarded["messages"] == messages and forwarded["tool_choice"] == "auto"


def test_fake_upstream_text_completion(gateway_client: openai.OpenAI) -> None:
    answer = gateway_client.completions.create(model=CHAT_MODEL, prompt="one two", max_tokens=2)
    assert answer.choices[0].text == "echo: one"
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.completion_tokens == 2


def test_fake_upstream_streaming_chat_with_openai_client(gateway_client: openai.OpenAI) -> None:
    chunks = list(gateway_client.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "echo: hello big world"
    assert all(chunk.model == CHAT_MODEL for chunk in chunks)
    # The gateway always asks the upstream for usage, but passes it on only when the client asked.
    assert all(chunk.usage is None for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_fake_upstream_stream_include_usage(gateway_client: openai.OpenAI) -> None:
    chunks = list(
        gateway_client.chat.completions.create(
            model=CHAT_MODEL,
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 4)
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_fake_upstream_streaming_text_completion(gateway_client: openai.OpenAI) -> None:
    chunks = list(gateway_client.completions.create(model=CHAT_MODEL, prompt="a b c", stream=True))
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == "echo: a b c"


def test_fake_upstream_sse_ends_with_done(gateway_http: httpx.Client) -> None:
    body = {"model": CHAT_MODEL, "messages": USER, "stream": True}
    with gateway_http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"
    assert events.count("data: [DONE]") == 1


def test_fake_upstream_request_ids_the_gateways_own_and_the_clients_kept_beside_it(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream
) -> None:
    body = {"model": CHAT_MODEL, "messages": USER}
    ids = set()
    # The same client id twice (OpenAI's header, and the older x-request-id): two requests, two gateway ids.
    for header in ("X-Client-Request-Id", "X-Request-Id"):
        response = gateway_http.post("/v1/chat/completions", json=body, headers={header: "trace-abc-123"})
        created = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", created)
        assert response.headers["x-client-request-id"] == "trace-abc-123"
        upstream_headers = echo_upstream.last()["headers"]
        assert upstream_headers["x-request-id"] == created
        assert upstream_headers["x-client-request-id"] == "trace-abc-123"
        ids.add(created)
    assert len(ids) == 2

    response = gateway_http.post("/v1/chat/completions", json=body)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert "x-client-request-id" not in response.headers
    assert "x-client-request-id" not in echo_upstream.last()["headers"]

    # An id that could forge log lines or headers is dropped, not passed on.
    forged = {"X-Client-Request-Id": "x" * 500}
    response = gateway_http.post("/v1/chat/completions", json=body, headers=forged)
    assert "x-client-request-id" not in response.headers
    assert "x-client-request-id" not in echo_upstream.last()["headers"]


def test_fake_upstream_request_id_on_errors(gateway_http: httpx.Client) -> None:
    response = gateway_http.post(
        "/v1/chat/completions", json={"model": "nope"}, headers={"X-Client-Request-Id": "err-1"}
    )
    assert response.status_code == 400
    assert response.headers["x-client-request-id"] == "err-1"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_fake_upstream_client_disconnect_cancels_upstream(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream
) -> None:
    echo_upstream.chunk_delay = 0.2
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": " ".join(["word"] * 100)}],
        "stream": True,
    }
    with gateway_http.stream("POST", "/v1/chat/completions", json=body) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    # The client is gone after one event: the upstream stream must end long before its 20 s of words.
    deadline = time.monotonic() + 5
    while echo_upstream.streams_closed == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert echo_upstream.streams_closed == 1


def test_fake_upstream_client_disconnect_cancels_non_streaming_request(
    gateway_server: ServerThread, echo_upstream: EchoUpstream
) -> None:
    echo_upstream.answer_delay = 10
    impatient = httpx.Client(base_url=gateway_server.url, timeout=0.5)
    with impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v1/chat/completions", json={"model": CHAT_MODEL, "messages": USER})
    deadline = time.monotonic() + 5
    while echo_upstream.answers_abandoned == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert echo_upstream.answers_abandoned == 1


def test_fake_upstream_client_disconnect_before_first_event_cancels_upstream(
    gateway_server: ServerThread, echo_upstream: EchoUpstream
) -> None:
    echo_upstream.chunk_delay = 10  # a text completion's first event is its first word: 10 s away
    body = {"model": CHAT_MODEL, "prompt": "slow start", "stream": True}
    impatient = httpx.Client(base_url=gateway_server.url, timeout=0.5)
    with impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v1/completions", json=body)
    deadline = time.monotonic() + 5
    while echo_upstream.streams_closed == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert echo_upstream.streams_closed == 1
