"""The cache in front of the real vLLM worker (the offline tiny model, the session's worker from
tests/fixtures/vllm.py): a hit returns exactly the first answer, a replayed stream exactly the first
stream's events, and a sampled request still reaches the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.policies import PolicyChain
from gateway.policies.cache import CachePolicy
from genai.llm.worker import WorkerProcess
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from tests.fixtures.gateway import ServerThread

pytestmark = pytest.mark.slow

MODEL = "tiny-chat"
BODY: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Write about the harbour at night."}],
    "max_tokens": 16,
    "temperature": 0,
}


@pytest.fixture(scope="module")
def cached_vllm(vllm_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway with the cache policy alone, routing ``tiny-chat`` to the vLLM worker."""
    vllm_worker.ensure_ready()
    gateway = GatewaySettings.model_validate(
        {
            "upstreams": {"vllm": {"workers": [vllm_worker.url], "timeout": 120}},
            "models": {MODEL: {"targets": [{"upstream": "vllm", "model": vllm_worker.served_model_name}]}},
            "deadline_seconds": 120,
        }
    )
    settings = Settings(home=Path(tmp_path_factory.mktemp("cache-vllm")), gateway=gateway)
    chain = PolicyChain([CachePolicy.from_settings(settings)])
    with ServerThread(create_app(settings, chain=chain)) as server:
        yield server.url


def test_a_hit_is_exactly_the_first_answer(cached_vllm: str) -> None:
    with httpx.Client(base_url=cached_vllm, timeout=120) as http:
        first = http.post("/v1/chat/completions", json=BODY)
        second = http.post("/v1/chat/completions", json=BODY)
    assert first.status_code == 200, first.text
    assert (first.headers["x-genai-cache"], second.headers["x-genai-cache"]) == ("miss", "hit")
    assert second.content == first.content  # the same bytes: id, created, text and usage
    assert first.json()["usage"]["completion_tokens"] > 0


def test_a_replayed_stream_is_exactly_the_first_stream(cached_vllm: str) -> None:
    body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    streams = []
    with httpx.Client(base_url=cached_vllm, timeout=120) as http:
        for _ in range(2):
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                assert response.status_code == 200
                streams.append((response.headers["x-genai-cache"], response.read()))
    (first_status, first), (second_status, second) = streams
    assert (first_status, second_status) == ("miss", "hit")
    assert second == first
    assert first.count(b"data: ") > 3 and first.endswith(b"data: [DONE]\n\n")
    assert b'"usage"' in first  # the usage chunk the client asked for is part of the replay


def test_a_sampled_request_reaches_the_model(cached_vllm: str) -> None:
    with httpx.Client(base_url=cached_vllm, timeout=120) as http:
        answer = http.post("/v1/chat/completions", json={**BODY, "temperature": 0.8, "max_tokens": 4})
    assert answer.status_code == 200
    assert "x-genai-cache" not in answer.headers
