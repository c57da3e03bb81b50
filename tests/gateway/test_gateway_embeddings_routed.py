"""POST /v1/embeddings for routed models: the body goes to the model's upstreams like a completion does.

The upstream here is a real OpenAI-compatible embeddings server: the session's other gateway
(``gateway_server``), which serves the platform's embedding model in-process. So the vectors that come
back through the routing gateway must equal the packaged encoder's, under the client-facing model name.
Fallback is shown with a worker nobody listens on (a dead port is not a fake: it is what a crashed worker
looks like) and with an Anthropic upstream, which has no embeddings API and is skipped. Only the 502 test
(``test_fake_...``) is answered by the echoing fake upstream, whose chat-only API refuses /v1/embeddings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from genai.embedding.encoder import Encoder
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from tests.fixtures.gateway import CHAT_MODEL, ServerThread, free_port

LOCAL_MODEL = "all-MiniLM-L6-v2"
TEXTS = ["Routed embeddings reach the upstream.", "The vectors come back in order."]


def _routes(upstream_url: str, echo_url: str) -> dict[str, Any]:
    dead = f"http://127.0.0.1:{free_port()}"
    return {
        "embedding_models": [],  # this gateway embeds nothing itself: every name is routed
        "retry": {"attempts": 2, "base_delay": 0.01, "max_delay": 0.05},
        "upstreams": {
            "embedder": {
                "kind": "openai",
                "workers": [upstream_url],
                "vllm_metrics": False,
                "health_path": "/healthz",
            },
            "dead": {"kind": "openai", "workers": [dead], "vllm_metrics": False},
            "claude": {"kind": "anthropic", "base_url": "http://127.0.0.1:9", "vllm_metrics": False},
            "echo": {"kind": "openai", "workers": [echo_url], "vllm_metrics": False},
        },
        "models": {
            "team-embed": {"targets": [{"upstream": "embedder", "model": LOCAL_MODEL}]},
            "embed-with-fallback": {
                "targets": [
                    {"upstream": "claude", "model": "claude-x"},
                    {"upstream": "dead", "model": LOCAL_MODEL},
                    {"upstream": "embedder", "model": LOCAL_MODEL},
                ]
            },
            "chat-only": {"targets": [{"upstream": "claude", "model": "claude-x"}]},
            CHAT_MODEL: {"targets": [{"upstream": "echo", "model": "echo-model"}]},
        },
    }


@pytest.fixture(scope="module")
def routing_gateway(
    gateway_server: ServerThread, echo_upstream_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    from gateway.app import create_app

    home: Path = tmp_path_factory.mktemp("routing-gateway")
    gateway = GatewaySettings.model_validate(_routes(gateway_server.url, echo_upstream_server.url))
    with ServerThread(create_app(Settings(home=home, gateway=gateway))) as server:
        yield server


@pytest.fixture
def client(routing_gateway: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{routing_gateway.url}/v1", api_key="unused", max_retries=0)


def test_routed_vectors_equal_the_upstream_model(client: openai.OpenAI, packaged_encoder: Encoder) -> None:
    answer = client.embeddings.create(model="team-embed", input=TEXTS)
    assert answer.model == "team-embed"  # the client-facing name, not the upstream's
    assert [item.index for item in answer.data] == [0, 1]
    vectors = np.array([item.embedding for item in answer.data], dtype=np.float32)
    np.testing.assert_array_equal(vectors, packaged_encoder.encode(TEXTS))
    assert answer.usage.prompt_tokens > 0 and answer.usage.total_tokens == answer.usage.prompt_tokens


def test_the_clients_options_are_forwarded(routing_gateway: ServerThread, packaged_encoder: Encoder) -> None:
    body = {"model": "team-embed", "input": TEXTS[0], "encoding_format": "float"}
    answer = httpx.post(f"{routing_gateway.url}/v1/embeddings", json=body, timeout=60).json()
    assert isinstance(answer["data"][0]["embedding"], list)  # float, as asked, not the client's base64
    expected = packaged_encoder.encode(TEXTS[:1])[0]
    np.testing.assert_allclose(answer["data"][0]["embedding"], expected, atol=1e-6)
    # The upstream's own 400 (it cannot shorten vectors) reaches the client as a 400 naming the problem.
    bad = httpx.post(
        f"{routing_gateway.url}/v1/embeddings",
        timeout=60,
        json={"model": "team-embed", "input": "x", "dimensions": 8},
    )
    assert bad.status_code == 400 and "dimensions" in bad.json()["error"]["message"]


def test_anthropic_is_skipped_and_a_dead_worker_falls_back(
    routing_gateway: ServerThread, packaged_encoder: Encoder
) -> None:
    response = httpx.post(
        f"{routing_gateway.url}/v1/embeddings",
        timeout=60,
        json={"model": "embed-with-fallback", "input": TEXTS},
    )
    assert response.status_code == 200, response.text
    vectors = np.array([item["embedding"] for item in response.json()["data"]], dtype=np.float32)
    np.testing.assert_array_equal(vectors, packaged_encoder.encode(TEXTS))
    metrics = httpx.get(f"{routing_gateway.url}/metrics").text
    assert 'from_upstream="dead",model="embed-with-fallback",to_upstream="embedder"' in metrics


def test_a_model_without_an_embeddings_api_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="chat-only", input="x")
    assert caught.value.param == "model" and "no embeddings API" in caught.value.message


def test_fake_upstream_without_the_embeddings_endpoint_is_a_502(routing_gateway: ServerThread) -> None:
    # The echo upstream speaks chat and completions only: its 404 for /v1/embeddings is the upstream's
    # refusal, so the gateway answers 502 and says what the upstream did.
    response = httpx.post(
        f"{routing_gateway.url}/v1/embeddings", timeout=60, json={"model": CHAT_MODEL, "input": "x"}
    )
    assert response.status_code == 502
    assert "HTTP 404" in response.json()["error"]["message"]
