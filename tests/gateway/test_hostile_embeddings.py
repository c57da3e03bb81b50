"""In-process embeddings under hostile load: the work per request is bounded in tokens, the requests in
flight are bounded, the deadline is kept, a client that left stops the work, and one multi-megabyte string
costs what the model reads of it. The real packaged model behind the real app over HTTP; the encoder's
``encode`` is wrapped (not replaced) to count the batches it really encoded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from gateway.app import create_app
from gateway.embeddings.service import EmbeddingService
from gateway.errors import DeadlineExceeded
from genai.embedding.encoder import Encoder
from tests.fixtures.gateway import EchoUpstream, ServerThread, gateway_settings

MODEL = "all-MiniLM-L6-v2"
MAX_TOKENS = 20_000
# Many batches (of the encoder's 64), ~15 tokens each: under the token bound, seconds to encode.
MANY = [f"passage number {i} about the platform, its gateway and the vectors it serves" for i in range(300)]
LONG_TEXT = "passage about the gateway and its embedding model " * 40  # past the model's 256 tokens


class Served:
    def __init__(self, server: ServerThread, service: EmbeddingService) -> None:
        self.server = server
        self.service = service
        self.batches = 0  # batches the encoder encoded since the test began

    def post(self, body: dict[str, Any], timeout: float = 120) -> httpx.Response:
        return httpx.post(f"{self.server.url}/v1/embeddings", json={"model": MODEL, **body}, timeout=timeout)


@pytest.fixture(scope="module")
def served_app(
    echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerThread, EmbeddingService]]:
    settings = gateway_settings(
        tmp_path_factory.mktemp("hostile-embeddings"),
        echo_upstream_server.url,
        request_limits={"embedding_max_tokens": MAX_TOKENS, "embedding_max_in_flight": 1},
    )
    app = create_app(settings)
    with ServerThread(app, settings=settings.gateway) as server:
        service: EmbeddingService = app.state.gateway.embeddings
        assert httpx.post(
            f"{server.url}/v1/embeddings", json={"model": MODEL, "input": "warm"}, timeout=120
        ).is_success
        yield server, service


@pytest.fixture
def served(served_app: tuple[ServerThread, EmbeddingService], monkeypatch: pytest.MonkeyPatch) -> Served:
    server, service = served_app
    result = Served(server, service)
    encoder: Encoder = service._load()[0]
    encode = encoder.encode

    def counted(texts: Any, batch_size: int | None = None) -> np.ndarray:
        result.batches += 1
        return encode(texts, batch_size)

    monkeypatch.setattr(encoder, "encode", counted)
    return result


def test_a_request_over_the_token_bound_is_400_before_encoding(served: Served) -> None:
    inputs = [LONG_TEXT] * 100  # 100 x 256 tokens after the model's truncation
    response = served.post({"input": inputs})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "input" and str(MAX_TOKENS) in error["message"]
    assert served.batches == 0


def test_one_huge_string_costs_what_the_model_reads(served: Served) -> None:
    huge = LONG_TEXT * 1500  # 3 MB of text: 600k tokens if tokenized whole
    started = time.monotonic()
    response = served.post({"input": huge})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["prompt_tokens"] == 256  # the model's own limit
    expected = served.post({"input": LONG_TEXT * 20}).json()["data"][0]["embedding"]
    np.testing.assert_allclose(response.json()["data"][0]["embedding"], expected, atol=1e-6)
    assert elapsed < 10, f"one long string took {elapsed:.1f}s"


def _hold(served: Served, texts: list[str]) -> tuple[threading.Thread, list[int]]:
    statuses: list[int] = []

    def run() -> None:
        statuses.append(served.post({"input": texts}).status_code)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while served.service.admission.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    return worker, statuses


def test_requests_past_the_in_flight_bound_get_429(served: Served) -> None:
    texts = MANY
    worker, statuses = _hold(served, texts)
    try:
        assert served.service.admission.running == 1
        refused = served.post({"input": "one more"})
    finally:
        worker.join()
    assert statuses == [200]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "embedding_capacity"
    assert served.post({"input": "now there is room"}).status_code == 200


def test_a_client_that_left_stops_the_encoding(served: Served) -> None:
    texts = MANY
    total = -(-len(texts) // served.service.settings.batch_size)
    raw = orjson.dumps({"model": MODEL, "input": texts})
    with socket.create_connection(("127.0.0.1", served.server.port)) as sock:
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(raw)).encode() + b"\r\n\r\n" + raw
        )
        deadline = time.monotonic() + 10
        while served.batches == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
    deadline = time.monotonic() + 30
    while served.service.admission.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.service.admission.running == 0
    assert served.batches < total, f"all {total} batches were encoded for a client that had left"


def test_the_deadline_stops_the_encoding(served: Served) -> None:
    total = -(-len(MANY) // served.service.settings.batch_size)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        served.service.embed(MANY, deadline=started + 0.2)
    assert served.batches < total
