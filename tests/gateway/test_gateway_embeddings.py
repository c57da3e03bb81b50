"""POST /v1/embeddings: the platform's embedding model served in-process, through the official client."""

from __future__ import annotations

import base64
import threading
import time

import httpx
import numpy as np
import openai
import pytest

from genai.embedding.encoder import Encoder
from genai.embedding.tokenizer import load_tokenizer
from tests.fixtures.gateway import ServerThread

MODEL = "all-MiniLM-L6-v2"
TEXTS = ["The gateway serves embeddings.", "Qdrant stores the vectors ingestion wrote.", "short"]


def test_vectors_equal_the_ingestion_encoder(
    gateway_client: openai.OpenAI, packaged_encoder: Encoder
) -> None:
    # The openai client asks for base64 and decodes it itself.
    answer = gateway_client.embeddings.create(model=MODEL, input=TEXTS)
    assert answer.model == MODEL
    assert [item.index for item in answer.data] == [0, 1, 2]
    vectors = np.array([item.embedding for item in answer.data], dtype=np.float32)
    np.testing.assert_array_equal(vectors, packaged_encoder.encode(TEXTS))
    assert vectors.shape == (3, packaged_encoder.dim)


def test_float_format_and_single_string(gateway_http: httpx.Client, packaged_encoder: Encoder) -> None:
    body = {"model": MODEL, "input": TEXTS[0], "encoding_format": "float"}
    response = gateway_http.post("/v1/embeddings", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "list" and answer["data"][0]["object"] == "embedding"
    vector = np.array(answer["data"][0]["embedding"], dtype=np.float32)
    np.testing.assert_allclose(vector, packaged_encoder.encode(TEXTS[:1])[0], atol=1e-6)


def test_base64_is_little_endian_float32(gateway_http: httpx.Client, packaged_encoder: Encoder) -> None:
    body = {"model": MODEL, "input": TEXTS, "encoding_format": "base64"}
    response = gateway_http.post("/v1/embeddings", json=body)
    encoded = response.json()["data"][1]["embedding"]
    vector = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    np.testing.assert_array_equal(vector, packaged_encoder.encode(TEXTS)[1])


def test_usage_counts_the_model_tokens(gateway_client: openai.OpenAI, packaged_encoder: Encoder) -> None:
    tokenizer = load_tokenizer(MODEL)
    long_text = "token " * 1000  # truncated by the model: usage counts what the model read
    expected = sum(len(tokenizer.encode(text).ids) for text in TEXTS) + packaged_encoder.max_seq_length
    answer = gateway_client.embeddings.create(model=MODEL, input=[*TEXTS, long_text])
    assert answer.usage.prompt_tokens == expected
    assert answer.usage.total_tokens == expected


def test_native_dimensions_are_accepted(gateway_client: openai.OpenAI, packaged_encoder: Encoder) -> None:
    answer = gateway_client.embeddings.create(model=MODEL, input="x", dimensions=packaged_encoder.dim)
    assert len(answer.data[0].embedding) == packaged_encoder.dim


@pytest.mark.parametrize(
    ("fields", "param", "words"),
    [
        ({"dimensions": 64}, "dimensions", "not supported"),
        ({"input": [1, 2, 3]}, "input", "token ids"),
        ({"input": [[1, 2], [3]]}, "input", "token ids"),
        ({"input": []}, "input", "empty"),
        ({"input": ["x"] * 2049}, "input", "at most 2048"),
        ({"input": None}, "input", "valid string"),
        ({"encoding_format": "int8"}, "encoding_format", "float"),
    ],
)
def test_invalid_embedding_requests(
    gateway_http: httpx.Client, fields: dict[str, object], param: str, words: str
) -> None:
    response = gateway_http.post("/v1/embeddings", json={"model": MODEL, "input": "x", **fields})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and words in error["message"]


def test_unknown_embedding_models_are_404(gateway_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        gateway_client.embeddings.create(model="text-embedding-3-small", input="x")
    assert caught.value.code == "model_not_found"


def test_embedding_metrics(gateway_http: httpx.Client) -> None:
    gateway_http.post("/v1/embeddings", json={"model": MODEL, "input": "one two"})
    text = gateway_http.get("/metrics").text
    assert f'genai_gateway_requests_total{{endpoint="embeddings",model="{MODEL}",status="200"}}' in text
    assert f'genai_gateway_tokens_total{{kind="prompt",model="{MODEL}"}}' in text


def test_encoding_does_not_block_the_event_loop(
    gateway_http: httpx.Client, gateway_server: ServerThread
) -> None:
    gateway_http.post("/v1/embeddings", json={"model": MODEL, "input": "warm"})  # the model is loaded
    texts = [f"passage number {i} about the platform and its gateway " * 8 for i in range(60)]
    done = threading.Event()
    outcome: list[int | BaseException] = []  # the batch's status, or what went wrong, for the main thread

    def embed() -> None:
        try:
            with httpx.Client(base_url=gateway_server.url, timeout=120) as other:
                answer = other.post("/v1/embeddings", json={"model": MODEL, "input": texts})
            outcome.append(answer.status_code)
        except BaseException as error:
            outcome.append(error)
        finally:
            done.set()

    worker = threading.Thread(target=embed)
    worker.start()
    time.sleep(0.3)  # the batch is being encoded now
    slowest = 0.0
    probes = 0
    while not done.is_set() and probes < 20:
        started = time.perf_counter()
        assert gateway_http.get("/healthz").status_code == 200
        slowest = max(slowest, time.perf_counter() - started)
        probes += 1
    worker.join()
    assert outcome == [200], outcome
    assert probes > 0, "the batch finished before the loop could be probed; make it bigger"
    assert slowest < 0.5
