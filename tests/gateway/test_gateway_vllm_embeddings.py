"""Routed embeddings from a real vLLM embedding worker (the tiny model under vLLM's pooling runner, as
``genai worker --task embed`` starts it): what a client gets through the gateway equals what vLLM answers
directly, vectors and usage, in both encodings, under the client-facing model name.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from gateway.app import create_app
from genai.llm.worker import WorkerProcess
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from tests.fixtures.gateway import ServerThread

pytestmark = pytest.mark.slow

MODEL = "team-embed"
TEXTS = ["The gateway routes embeddings to vLLM.", "Pooling runner", "ünïcödé text"]


@pytest.fixture(scope="module")
def gateway_url(
    vllm_embedding_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    gateway = GatewaySettings.model_validate(
        {
            "upstreams": {"vllm-embed": {"workers": [vllm_embedding_worker.url], "timeout": 120}},
            "models": {
                MODEL: {
                    "targets": [{"upstream": "vllm-embed", "model": vllm_embedding_worker.served_model_name}]
                }
            },
            "deadline_seconds": 120,
        }
    )
    settings = Settings(home=Path(tmp_path_factory.mktemp("gateway-embed")), gateway=gateway)
    with ServerThread(create_app(settings)) as server:
        yield server.url


def _post(base: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base}/v1/embeddings", json=body, timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_vectors_and_usage_equal_vllms_own(gateway_url: str, vllm_embedding_worker: WorkerProcess) -> None:
    direct = _post(
        vllm_embedding_worker.url, {"model": vllm_embedding_worker.served_model_name, "input": TEXTS}
    )
    routed = _post(gateway_url, {"model": MODEL, "input": TEXTS})
    assert routed["model"] == MODEL
    assert [item["index"] for item in routed["data"]] == [0, 1, 2]
    assert [item["embedding"] for item in routed["data"]] == [item["embedding"] for item in direct["data"]]
    assert routed["usage"]["prompt_tokens"] == direct["usage"]["prompt_tokens"] > 0


def test_the_openai_client_gets_the_same_vectors(
    gateway_url: str, vllm_embedding_worker: WorkerProcess
) -> None:
    # The client asks for base64: the gateway forwards that choice and vLLM encodes.
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="unused", max_retries=0, timeout=120)
    answer = client.embeddings.create(model=MODEL, input=TEXTS)
    direct = _post(
        vllm_embedding_worker.url,
        {"model": vllm_embedding_worker.served_model_name, "input": TEXTS, "encoding_format": "base64"},
    )
    expected = [np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4") for item in direct["data"]]
    np.testing.assert_array_equal(
        np.array([item.embedding for item in answer.data], dtype=np.float32), np.array(expected)
    )
    assert len(answer.data[0].embedding) == expected[0].shape[0]
