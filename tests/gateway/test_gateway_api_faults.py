"""How the gateway's HTTP layer maps router failures: a scripted fake router behind the real app (the
faults are injected on purpose), so every failure must come out as OpenAI's error body with the right
status, and a stream that breaks must still end with an error event and [DONE]."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import DeadlineExceeded, GatewayError, NoHealthyUpstream, UpstreamFailed
from tests.fixtures.gateway import (
    AppClient,
    FaultyRouter,
)

USER: Any = [{"role": "user", "content": "hello big world"}]
CHAT = {"model": "m", "messages": USER}
CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UpstreamFailed("every upstream failed"), 502, "bad_gateway"),
        (NoHealthyUpstream("no worker is up"), 503, "service_unavailable"),
        (DeadlineExceeded("deadline passed"), 504, "gateway_timeout"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_fault_router_errors_map_to_status(
    faulty: tuple[FaultyRouter, AppClient], error: GatewayError, status: int, code: str, stream: bool
) -> None:
    router, http = faulty
    router.error = error
    response = http.post("/v1/chat/completions", json={**CHAT, "stream": stream})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {"message": error.message, "type": error.type, "param": None, "code": code}
    }


def test_fault_unexpected_exception_is_openai_500(faulty: tuple[FaultyRouter, AppClient]) -> None:
    router, http = faulty
    router.error = RuntimeError("secret internals")
    response = http.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and response.headers["x-request-id"] in error["message"]
    assert "secret" not in response.text and "Traceback" not in response.text


def test_fault_mid_stream_failure_ends_with_error_event_and_done(
    faulty: tuple[FaultyRouter, AppClient],
) -> None:
    router, http = faulty
    router.events = [CHUNK, UpstreamFailed("worker died")]
    response = http.post("/v1/chat/completions", json={**CHAT, "stream": True})
    events = [line for line in response.text.split("\n\n") if line]
    assert events[0] == CHUNK.decode().strip()
    assert '"worker died"' in events[1] and events[1].startswith('data: {"error"')
    assert events[2] == "data: [DONE]"
    assert router.closed


def test_fault_stream_without_done_is_completed(faulty: tuple[FaultyRouter, AppClient]) -> None:
    router, http = faulty
    router.events = [CHUNK]
    response = http.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.text.endswith("data: [DONE]\n\n")
    assert response.text.count("[DONE]") == 1


def test_fault_readiness_is_503_when_router_not_ready(faulty: tuple[FaultyRouter, AppClient]) -> None:
    _, http = faulty
    response = http.request("GET", "/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
