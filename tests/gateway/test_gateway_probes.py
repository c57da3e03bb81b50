"""The gateway's probes: /healthz and /health answer while the process lives; /readyz waits for the
embedding model when the gateway loads it at start-up, says why while it waits, and does not wait for a
model loaded lazily on the first request."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from genai.settings import EmbeddingSettings, GatewaySettings, Settings
from tests.fixtures.gateway import ServerThread


def probe_settings(home: Path, **embedding: Any) -> Settings:
    # No routed models, so readiness is about the embedding model alone. A batch size no other test uses
    # gives this gateway an encoder of its own, so it really loads instead of finding one cached.
    return Settings(
        home=home,
        gateway=GatewaySettings(),
        embedding=EmbeddingSettings(batch_size=embedding.pop("batch_size", 23), **embedding),
    )


def wait_ready(http: httpx.Client, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = http.get("/readyz")
        if response.status_code == 200:
            return response
        time.sleep(0.2)
    raise AssertionError(f"/readyz still says {response.status_code}: {response.text}")


def test_liveness_answers_on_healthz_and_health(gateway_http: httpx.Client) -> None:
    for path in ("/healthz", "/health"):
        response = gateway_http.get(path)
        assert response.status_code == 200 and response.json() == {"status": "ok"}, path
    assert "/health" in gateway_http.get("/openapi.json").json()["paths"]


def test_readiness_waits_for_the_embedding_model_loaded_at_start(tmp_path: Path) -> None:
    from gateway.app import create_app

    app = create_app(probe_settings(tmp_path), warm_embeddings=True)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        # The load starts a second after the server listens and takes longer than that.
        loading = http.get("/readyz")
        assert loading.status_code == 503, loading.text
        assert loading.json()["reasons"] == ["the embedding model 'all-MiniLM-L6-v2' is loading"]
        assert http.get("/healthz").status_code == 200  # alive all along

        ready = wait_ready(http, timeout=120)
    assert ready.json()["status"] == "ready" and "reasons" not in ready.json()
    assert ready.json()["embeddings"]["loaded"] is True


def test_fault_readiness_names_the_model_that_could_not_be_loaded(tmp_path: Path) -> None:
    from gateway.app import create_app

    missing = tmp_path / "no-such-model"
    app = create_app(probe_settings(tmp_path, model=str(missing)), warm_embeddings=True)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        deadline = time.monotonic() + 60
        while True:
            body = http.get("/readyz").json()
            if "could not be loaded" in " ".join(body.get("reasons", [])) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert http.get("/readyz").status_code == 503
    assert body["status"] == "not_ready"
    assert str(missing) in body["reasons"][0] and "could not be loaded" in body["reasons"][0], body


def test_a_lazily_loaded_embedding_model_does_not_hold_readiness_back(tmp_path: Path) -> None:
    from gateway.app import create_app

    with (
        ServerThread(create_app(probe_settings(tmp_path))) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        response = http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["embeddings"] == {
        "models": ["all-MiniLM-L6-v2"],
        "loaded": False,
        "loads_at_start": False,
    }
