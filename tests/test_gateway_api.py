"""The gateway's HTTP layer end to end: the official openai client -> the gateway (real router) -> a fake
OpenAI-compatible upstream that echoes and records what it receives, all over real HTTP. The fake is what
lets these tests see the exact bytes and headers the gateway forwards (``test_fake_upstream_*``); the same
endpoints against real vLLM are in test_gateway_vllm.py; how router failures are mapped is in
test_gateway_api_faults.py."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.app import create_app
from tests.fixtures.gateway import (
    CHAT_MODEL,
    UPSTREAM_MODEL,
    EchoUpstream,
    ServerThread,
    gateway_settings,
)

USER: Any = [{"role": "user", "content": "hello big world"}]


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample in the exposition ``text`` (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


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
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
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


def test_fake_upstream_request_id_propagated_and_echoed(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream
) -> None:
    body = {"model": CHAT_MODEL, "messages": USER}
    response = gateway_http.post("/v1/chat/completions", json=body, headers={"X-Request-Id": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"
    assert echo_upstream.last()["headers"]["x-request-id"] == "trace-abc-123"

    response = gateway_http.post("/v1/chat/completions", json=body)
    created = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", created)
    assert echo_upstream.last()["headers"]["x-request-id"] == created

    # An id that could forge log lines or headers is replaced, not passed on.
    response = gateway_http.post("/v1/chat/completions", json=body, headers={"X-Request-Id": "x" * 500})
    assert response.headers["x-request-id"] != "x" * 500


def test_fake_upstream_request_id_on_errors(gateway_http: httpx.Client) -> None:
    response = gateway_http.post(
        "/v1/chat/completions", json={"model": "nope"}, headers={"X-Request-Id": "err-1"}
    )
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "err-1"


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


# --- models, probes, metrics, OpenAPI ---------------------------------------------------------------------


def test_fake_upstream_models(gateway_client: openai.OpenAI) -> None:
    ids = [model.id for model in gateway_client.models.list()]
    assert ids == [CHAT_MODEL, "all-MiniLM-L6-v2"]
    model = gateway_client.models.retrieve(CHAT_MODEL)
    assert model.id == CHAT_MODEL and model.owned_by == "genai-platform"
    assert model.model_extra == {"context_window": 2048}
    with pytest.raises(openai.NotFoundError):
        gateway_client.models.retrieve("no-such-model")


def test_fake_upstream_health_and_readiness(gateway_http: httpx.Client) -> None:
    assert gateway_http.get("/healthz").json() == {"status": "ok"}
    ready = gateway_http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert "echo" in ready.json()["router"]["upstreams"]


def test_fake_upstream_metrics_after_requests(
    gateway_client: openai.OpenAI, gateway_http: httpx.Client
) -> None:
    before = gateway_http.get("/metrics").text
    gateway_client.chat.completions.create(model=CHAT_MODEL, messages=USER)
    list(gateway_client.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True))
    with pytest.raises(openai.NotFoundError):
        gateway_client.chat.completions.create(model="nope", messages=USER)
    after = gateway_http.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def delta(name: str, **labels: str) -> float:
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert delta("genai_gateway_requests_total", model=CHAT_MODEL, endpoint="chat", status="200") == 2
    assert delta("genai_gateway_request_seconds_count", model=CHAT_MODEL, endpoint="chat") == 2
    # Each request is metered once: 3 prompt and 4 completion tokens apiece.
    assert delta("genai_gateway_tokens_total", model=CHAT_MODEL, kind="prompt") == 6
    assert delta("genai_gateway_tokens_total", model=CHAT_MODEL, kind="completion") == 8
    assert delta("genai_gateway_time_to_first_token_seconds_count", model=CHAT_MODEL) == 1
    # An unknown model name never becomes a label: clients could grow the series without bound.
    assert delta("genai_gateway_requests_total", model="", endpoint="chat", status="404") == 1
    assert delta("genai_gateway_errors_total", model="", type="model_not_found") == 1
    assert 'model="nope"' not in text


def test_fake_upstream_openapi_document(gateway_http: httpx.Client) -> None:
    document = gateway_http.get("/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/models/{model}",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths
    chat = paths["/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChatCompletionRequest"
    )
    assert {"400", "404", "413", "502", "503", "504"} <= set(chat["responses"])
    schemas = document["components"]["schemas"]
    assert {
        "ChatCompletionRequest",
        "CompletionRequest",
        "EmbeddingRequest",
        "ChatCompletion",
        "ErrorResponse",
    } <= set(schemas)
    assert "temperature" in schemas["ChatCompletionRequest"]["properties"]
    assert gateway_http.get("/docs").status_code == 200


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = getattr(record, "gateway_fields", {})
    return fields


def test_fake_upstream_access_log_line(gateway_http: httpx.Client) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    access = logging.getLogger("genai.gateway.access")
    access.addHandler(handler)
    try:
        gateway_http.post(
            "/v1/chat/completions",
            json={"model": CHAT_MODEL, "messages": USER},
            headers={"X-Request-Id": "log-check"},
        )
        # The line is written once the response went out, so it may trail the client's read by a moment.
        deadline = time.monotonic() + 5
        while not any(fields_of(r)["request_id"] == "log-check" for r in records):
            assert time.monotonic() < deadline, "no access line"
            time.sleep(0.01)
    finally:
        access.removeHandler(handler)
    fields = next(fields_of(r) for r in records if fields_of(r)["request_id"] == "log-check")
    assert fields["model"] == CHAT_MODEL and fields["endpoint"] == "chat" and fields["status"] == 200
    assert fields["upstream"] == "echo" and fields["attempts"] == 1 and fields["latency_ms"] > 0
    assert fields["worker"] and fields["tokens"]["total_tokens"] == 7


# --- errors ---------------------------------------------------------------------------------------------


def test_fake_upstream_unknown_model_is_404(
    gateway_client: openai.OpenAI, echo_upstream: EchoUpstream
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway_client.chat.completions.create(model="gpt-99", messages=USER)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError, match="embedding model"):
        gateway_client.chat.completions.create(model="all-MiniLM-L6-v2", messages=USER)
    assert echo_upstream.requests == []


def test_fake_upstream_unknown_route_and_method(gateway_http: httpx.Client) -> None:
    missing = gateway_http.post("/v1/nothing", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = gateway_http.get("/v1/chat/completions")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]


@pytest.fixture(scope="module")
def small_gateway(
    echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    home = tmp_path_factory.mktemp("small")
    settings = gateway_settings(home, echo_upstream_server.url, max_body_bytes=2048)
    with ServerThread(create_app(settings)) as server:
        yield server.url


def test_fake_upstream_body_too_large_is_413(small_gateway: str, echo_upstream: EchoUpstream) -> None:
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x" * 4000}]}
    with httpx.Client(base_url=small_gateway) as http:
        declared = http.post("/v1/chat/completions", json=body)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the gateway must count as it reads
            for _ in range(10):
                yield b" " * 1000

        streamed = http.post(
            "/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["type"] == "invalid_request_error"
        fits = http.post("/v1/chat/completions", json={"model": CHAT_MODEL, "messages": USER})
        assert fits.status_code == 200
    assert len(echo_upstream.requests) == 1
