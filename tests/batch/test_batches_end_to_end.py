"""A batch end to end, the way a client and a cluster run it: the official openai client uploads a JSONL file
and creates a batch on the real gateway (API keys on); the gateway starts a run of the ``serve-batch``
deployment (deployed from deployments/prefect.yaml) on the session's real Prefect server; a real process
work-pool worker (``prefect worker start``, as in production) runs the flow in a process of its own, which
sends each request back through the gateway to the session's real vLLM worker (the tiny model); the client
polls the batch to completed and downloads the output and error files.

The worker comes from tests/fixtures/vllm.py (session-scoped: never a second one); without vLLM's venv the
test skips, or fails under GENAI_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from genai.accesskeys import create_key, list_keys
from genai.accounting.usage import UsageEntry, list_usage
from genai.batch.credentials import batch_key_name
from genai.llm.worker import WorkerProcess
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from tests.batch.api_gateway import POLICIES, batch_line
from tests.fixtures.gateway import ServerThread, free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")  # the platform venv's CLI
POOL = "genai-process"  # the pool deployments/prefect.yaml names for serve-batch
MODEL = "tiny-chat"
FINAL = ("completed", "failed", "expired", "cancelled")
POLL_DEADLINE_S = 150.0


@dataclass
class Stack:
    url: str
    settings: Settings
    logs: Path

    def client(self, tenant: str) -> openai.OpenAI:
        key = create_key(self.settings, tenant).key
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=60)


def _prefect_cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def stack(
    vllm_worker: WorkerProcess, prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Gateway (keys on) in front of vLLM, serve-batch deployed, one process worker on its pool."""
    from gateway.app import create_app

    vllm_worker.ensure_ready()
    home = tmp_path_factory.mktemp("batch-e2e")
    logs = tmp_path_factory.mktemp("batch-e2e-logs")
    port = free_port()
    gateway = GatewaySettings.model_validate(
        {
            "upstreams": {"vllm": {"workers": [vllm_worker.url], "timeout": 120}},
            "models": {MODEL: {"targets": [{"upstream": "vllm", "model": vllm_worker.served_model_name}]}},
            "deadline_seconds": 120,
            "policies": [*POLICIES, "ledger"],
        }
    )
    gateway_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        home=home,
        gateway=gateway,
        auth={"enabled": True},
        prefect={"api_url": prefect_api_url},
        batch={"gateway_url": gateway_url},
    )
    # The flow is one of the platform's own clients: its key is the one `genai up` would write.
    (home / "gateway-client.key").write_text(create_key(settings, "platform").key + "\n")
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api_url,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "GENAI_HOME": str(home),  # the same database and file store as the gateway
        "GENAI_AUTH__ENABLED": "true",
        "GENAI_BATCH__GATEWAY_URL": gateway_url,
        "GENAI_PROJECT_DIR": str(REPO),
        "GENAI_IMAGE": "genai:test",
    }
    _prefect_cli(env, "work-pool", "create", POOL, "--type", "process", "--overwrite")
    _prefect_cli(
        env, "--no-prompt", "deploy", "--name", "serve-batch", "--prefect-file", "deployments/prefect.yaml"
    )
    log = (logs / "worker.log").open("w")
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--name", "batch-e2e-worker"],
        env=env,
        cwd=logs,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its flow-run processes share its group: one killpg ends all
    )
    try:
        with ServerThread(create_app(settings), port=port, settings=settings.gateway):
            yield Stack(gateway_url, settings, logs)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()


def _poll(client: openai.OpenAI, batch_id: str, logs: Path) -> tuple[Any, list[str]]:
    deadline = time.monotonic() + POLL_DEADLINE_S
    seen: list[str] = []
    while True:
        batch = client.batches.retrieve(batch_id)
        if not seen or seen[-1] != batch.status:
            seen.append(batch.status)
        if batch.status in FINAL:
            return batch, seen
        if time.monotonic() > deadline:
            worker_log = (logs / "worker.log").read_text()[-4000:]
            pytest.fail(
                f"batch still {batch.status} after {POLL_DEADLINE_S} s (saw {seen}); worker:\n{worker_log}"
            )
        time.sleep(0.5)


def _chat_usage(settings: Settings, expected: int) -> list[UsageEntry]:
    """The ledger's chat records (the model calls, not the file and batch API's), once ``expected`` are
    there (its writer batches rows off the request path) or after 20 s."""
    deadline = time.monotonic() + 20
    while True:
        rows = [row for row in list_usage(settings.sql_url, limit=1000) if row.endpoint == "chat"]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _jsonl(client: openai.OpenAI, file_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines() if line.strip()]


def test_openai_client_submits_polls_and_downloads_a_batch(stack: Stack) -> None:
    client = stack.client("acme")
    lines = [batch_line(f"req-{n}", f"Tell me about {n}.") for n in range(6)]
    lines.insert(2, '{"custom_id": "broken", ')  # line 3: not JSON; the rest is served
    uploaded = client.files.create(
        file=("requests.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch"
    )
    created = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"e2e": "1"},
    )
    assert created.status == "validating"

    batch, seen = _poll(client, created.id, stack.logs)
    assert batch.status == "completed", (seen, batch.errors)
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (
        7,
        6,
        1,
    )
    assert batch.in_progress_at and batch.completed_at and batch.completed_at >= batch.in_progress_at
    assert batch.metadata == {"e2e": "1"}

    assert batch.output_file_id and batch.error_file_id
    output = _jsonl(client, batch.output_file_id)
    assert sorted(line["custom_id"] for line in output) == [f"req-{n}" for n in range(6)]
    for line in output:
        response = line["response"]
        assert response["status_code"] == 200 and line["error"] is None
        assert response["body"]["object"] == "chat.completion" and response["body"]["model"] == MODEL
        assert response["body"]["usage"]["completion_tokens"] >= 1
    errors = _jsonl(client, batch.error_file_id)
    assert len(errors) == 1 and errors[0]["response"] is None
    assert errors[0]["error"]["message"].startswith("line 3:")  # the bad line, by its number
    assert batch.errors is not None and batch.errors.data is not None
    assert [error.line for error in batch.errors.data] == [3]

    # The batch's files are the tenant's own: listed with it, hidden from another tenant.
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"
    with pytest.raises(openai.NotFoundError):
        stack.client("stranger").files.content(batch.output_file_id)

    # Served as the owner's: every model call of the batch is in the ledger as acme's, under the batch's own
    # key (named after the batch, revoked once the run ended), none as the platform client's.
    batch_keys = [key for key in list_keys(stack.settings, "acme") if key.name == batch_key_name(batch.id)]
    assert len(batch_keys) == 1 and batch_keys[0].status() == "revoked"
    usage = _chat_usage(stack.settings, 6)
    assert len(usage) == 6 and {(row.tenant, row.key_prefix) for row in usage} == {
        ("acme", batch_keys[0].prefix)
    }
