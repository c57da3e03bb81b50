"""A vllm-kind version registered in a real MLflow registry with a real vLLM worker's URL is served by the
gateway end to end, retrieval-augmented on the real knowledge base: the chunks fitted into the worker's
512-token window, citations back, the version in the header."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from genai.llm.worker import WorkerProcess
from genai.settings import Settings
from genai.settings.registry import RegistrySettings
from registry.client import ModelRegistry
from tests.fixtures.gateway import ServerThread
from tests.gateway.registry.conftest import BEST_DOC, KB, QUESTION, spec, wait_for

WINDOW = 512  # the worker's --max-model-len


@pytest.mark.timeout(600)
def test_registered_vllm_version_is_served_with_retrieved_context(
    vllm_worker: WorkerProcess, knowledge_home: Path, tmp_path: Path
) -> None:
    vllm_worker.ensure_ready()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = ModelRegistry(uri, str(tmp_path / "mlartifacts"))
    version = spec(
        "vllm",
        workers=[vllm_worker.url],
        served_model=vllm_worker.served_model_name,
        context_window=WINDOW,
        retrieval={"knowledge_base": KB, "k": 3},
        vllm_args=["--max-model-len", str(WINDOW)],
    )
    registry.register("tiny-rag", version)
    registry.set_alias("tiny-rag", "champion", 1)
    settings = Settings(
        home=knowledge_home, mlflow_tracking_uri=uri, registry=RegistrySettings(poll_seconds=0.5)
    )
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=180) as http:
        wait_for(lambda: http.get("/readyz").status_code == 200, timeout=60, what="readiness")
        body = {
            "model": "tiny-rag",
            "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 16,
            "temperature": 0,
        }
        answer = http.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-genai-model-version"] == "tiny-rag/1"
        data = answer.json()
        assert data["model"] == "tiny-rag" and data["citations"][0]["doc_id"] == BEST_DOC
        usage = data["usage"]
        # The worker's own count of the prompt, context included, fits its window with max_tokens.
        assert usage["prompt_tokens"] + 16 <= WINDOW and usage["prompt_tokens"] > len(QUESTION.split()) * 3
        assert 0 < usage["completion_tokens"] <= 16

        streamed = http.post("/v1/chat/completions", json={**body, "stream": True})
        assert streamed.status_code == 200
        blocks = [b for b in streamed.text.split("\n\n") if b.startswith("data: ")]
        assert blocks[-1] == "data: [DONE]" and '"citations"' in blocks[-2]

        listed = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
        assert listed["tiny-rag"]["kind"] == "vllm" and listed["tiny-rag"]["context_window"] == WINDOW
