"""The gateway's other endpoints end to end, over real HTTP in front of the echo upstream: /v1/models, the
health and readiness probes, Prometheus metrics, the access log line, the OpenAPI document, and the HTTP
errors a client can cause (unknown model or route, oversized body). Chat and completions themselves are in
test_gateway_api.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.app import create_app
from tests.fixtures.gateway import (
    CHAT_MODEL,
    USER,
    EchoUpstream,
    ServerThread,
    gateway_settings,
)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample in the exposition ``text`` (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


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
    access = logging.getLogger("gateway.access")
    access.addHandler(handler)
    try:
        answer = gateway_http.post(
            "/v1/chat/completions",
            json={"model": CHAT_MODEL, "messages": USER},
            headers={"X-Client-Request-Id": "log-check"},
        )
        # The line is written once the response went out, so it may trail the client's read by a moment.
        deadline = time.monotonic() + 5
        while not any(fields_of(r).get("client_request_id") == "log-check" for r in records):
            assert time.monotonic() < deadline, "no access line"
            time.sleep(0.01)
    finally:
        access.removeHandler(handler)
    fields = next(fields_of(r) for r in records if fields_of(r).get("client_request_id") == "log-check")
    assert fields["request_id"] == answer.headers["x-request-id"]
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
