"""The batch serving flow end to end: the real gateway in front of the session's real vLLM worker (the tiny
model), a real Prefect test server. A small file with bad lines -> results and errors files with the right
custom_ids and line numbers, the summary artifact, and a second run that sends nothing; a run SIGKILLed
while its requests are in flight, then started again -> every custom_id answered exactly once, no
journalled request sent twice; the pool's concurrency limit created with its slots and held while a slice
runs.

The worker comes from tests/fixtures/vllm.py (session-scoped); without vLLM's venv these tests skip, or
fail under GENAI_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from genai.batch.runner import Journal
from genai.batch.serve import journal_path, prepare
from genai.llm.worker import WorkerProcess
from genai.settings import Settings, get_settings
from genai.settings.gateway import GatewaySettings
from tests.batch.batch_env import CHAT, MODEL, AccessCounter, chat_request, read_jsonl
from tests.fixtures.gateway import ServerThread

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@dataclass
class BatchGateway:
    url: str
    worker: WorkerProcess
    access: AccessCounter = field(default_factory=AccessCounter)


@pytest.fixture(scope="module")
def batch_gateway(
    vllm_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchGateway]:
    """The gateway routing ``tiny-chat`` to the vLLM worker, with an access-line counter attached."""
    from gateway.app import create_app

    vllm_worker.ensure_ready()
    gateway = GatewaySettings.model_validate(
        {
            "upstreams": {"vllm": {"workers": [vllm_worker.url], "timeout": 120}},
            "models": {MODEL: {"targets": [{"upstream": "vllm", "model": vllm_worker.served_model_name}]}},
            "deadline_seconds": 120,
        }
    )
    settings = Settings(home=Path(tmp_path_factory.mktemp("batch-gateway")), gateway=gateway)
    counter = AccessCounter()
    access = logging.getLogger("gateway.access")
    with ServerThread(create_app(settings)) as server:
        access.addHandler(counter)
        try:
            yield BatchGateway(server.url, vllm_worker, counter)
        finally:
            access.removeHandler(counter)


@pytest.fixture
def flow_env(
    batch_gateway: BatchGateway, prefect_api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The flow's platform home and gateway as GENAI_* variables (also returned, for a subprocess)."""
    env = {
        "GENAI_HOME": str(tmp_path / "home"),
        "GENAI_BATCH__GATEWAY_URL": batch_gateway.url,
        "GENAI_AUTH__ENABLED": "false",
        "PREFECT_API_URL": prefect_api_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def read_limit(name: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name)


def read_artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0] if found else None


def test_small_file_with_bad_lines_end_to_end(flow_env: dict[str, str], tmp_path: Path) -> None:
    from flows.serve_batch import serve_batch

    lines = [chat_request(f"req-{index}") for index in range(10)]
    lines.insert(3, '{"custom_id": "broken", ')  # line 4: not JSON
    lines.insert(8, chat_request("no-model").replace(f'"model": "{MODEL}", ', ""))  # line 9
    source = tmp_path / "requests.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"

    summary = serve_batch(
        input_path=str(source), pool="e2e", concurrency=4, slice_size=4, output_dir=str(out)
    )

    results, errors = read_jsonl(out / "results.jsonl"), read_jsonl(out / "errors.jsonl")
    assert [line["custom_id"] for line in results] == [f"req-{index}" for index in range(10)]
    for line in results:
        assert line["error"] is None and line["id"].startswith("batch_req_")
        response = line["response"]
        assert response["status_code"] == 200 and response["body"]["model"] == MODEL
        assert response["body"]["usage"]["completion_tokens"] > 0
    assert [(line["custom_id"], line["error"]["code"]) for line in errors] == [
        ("", "invalid_request"),
        ("no-model", "invalid_request"),
    ]
    assert errors[0]["error"]["message"].startswith("line 4: not JSON")
    assert errors[1]["error"]["message"] == "line 9: body.model is missing or empty"
    assert (summary.total, summary.completed, summary.failed, summary.invalid) == (12, 10, 0, 2)
    assert (summary.sent, summary.resumed, summary.output_failures) == (10, 0, [])
    assert summary.throughput > 0
    artifact = read_artifact(f"serve-batch-{summary.journal_key}")
    assert artifact is not None and "| completed (results file) | 10 |" in artifact.data
    limit = read_limit("batch-pool-e2e")
    assert (limit.limit, limit.active) == (16, True)  # batch.default_pool_slots

    again = serve_batch(input_path=str(source), pool="e2e", concurrency=4, output_dir=str(out))
    assert (again.sent, again.resumed, again.completed) == (0, 10, 10)  # idempotent: nothing sent again
    assert read_jsonl(out / "results.jsonl") == results


RESUME_REQUESTS = 40
RESUME_CONCURRENCY = 4


def flow_subprocess(env: dict[str, str], source: Path, out: Path, pool: str) -> subprocess.Popen[bytes]:
    code = (
        "from flows.serve_batch import serve_batch; "
        f"serve_batch(input_path={str(source)!r}, pool={pool!r}, concurrency={RESUME_CONCURRENCY}, "
        f"slice_size={RESUME_REQUESTS}, output_dir={str(out)!r})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the SIGKILL takes the whole run
    )


def in_flight_at_kill(counts: AccessCounter, journalled: set[str]) -> set[str]:
    """Requests the killed run had sent and not journalled: the gateway finishes them after the client
    has gone (its access line comes then), so wait a little for them."""
    deadline = time.monotonic() + 10
    while True:
        seen = {key.removeprefix("batch-") for key in counts.counts}
        unjournalled = seen - journalled
        if unjournalled or time.monotonic() > deadline:
            return unjournalled
        time.sleep(0.05)


def wait_for_journal(path: Path, process: subprocess.Popen[bytes], at_least: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the flow ended before the kill: {process.stderr and process.stderr.read()!r}"
            )
        if path.exists() and len(Journal(path).load()) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("no answers journalled in 90 s")


def test_killed_run_resumes_without_resending(
    flow_env: dict[str, str], batch_gateway: BatchGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.serve_batch import serve_batch

    lines = [
        chat_request(f"k{index:02d}", max_tokens=200, ignore_eos=True) for index in range(RESUME_REQUESTS)
    ]
    source = tmp_path / "long.jsonl"
    data = ("\n".join(lines) + "\n").encode()
    source.write_bytes(data)
    out = tmp_path / "out"
    journal_file = journal_path(Path(flow_env["GENAI_HOME"]), prepare(data, CHAT).key)
    env = {**flow_env, "GENAI_BATCH__POOL_SLOTS": '{"resume": 8}'}
    batch_gateway.access.counts.clear()

    process = flow_subprocess(env, source, out, "resume")
    try:
        wait_for_journal(journal_file, process, at_least=6)
        held = read_limit("batch-pool-resume")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert (held.limit, held.active_slots) == (8, RESUME_CONCURRENCY)  # created with its slots, held
    journalled = set(Journal(journal_file).load())
    assert in_flight_at_kill(batch_gateway.access, journalled), "the kill must land with requests in flight"
    assert 6 <= len(journalled) < RESUME_REQUESTS
    assert not out.exists()  # a killed run publishes nothing

    monkeypatch.setenv("GENAI_BATCH__POOL_SLOTS", '{"resume": 8}')
    get_settings.cache_clear()
    summary = serve_batch(
        input_path=str(source), pool="resume", concurrency=RESUME_CONCURRENCY, output_dir=str(out)
    )

    results = read_jsonl(out / "results.jsonl")
    assert sorted(line["custom_id"] for line in results) == [
        f"k{index:02d}" for index in range(RESUME_REQUESTS)
    ]
    assert read_jsonl(out / "errors.jsonl") == []
    assert (summary.resumed, summary.sent) == (len(journalled), RESUME_REQUESTS - len(journalled))
    counts = batch_gateway.access.counts
    for custom_id in sorted(journalled):
        assert counts[f"batch-{custom_id}"] == 1, f"{custom_id} was answered before the kill and sent again"
    assert all(counts[f"batch-{line['custom_id']}"] >= 1 for line in results)
    # Only what was in flight at the kill may have reached the gateway twice.
    assert sum(counts.values()) - RESUME_REQUESTS <= RESUME_CONCURRENCY


def test_batch_record_served_from_the_file_store(flow_env: dict[str, str]) -> None:
    """What /v1/batches starts: the input from the file store, the record moved to completed with its
    counts, the results and errors as files of the batch's tenant."""
    from flows.serve_batch import serve_batch
    from genai.batch import catalog

    settings = get_settings()
    lines = [chat_request(f"s{index}") for index in range(6)] + ["not json"]
    source = catalog.create_file(
        settings, data="\n".join(lines).encode(), filename="in.jsonl", purpose="batch", tenant="acme"
    )
    batch = catalog.create_batch(settings, tenant="acme", input_file_id=source.id, endpoint=CHAT)

    summary = serve_batch(batch_id=batch.id, input_file_id=source.id, endpoint=CHAT, pool="stored")

    done = catalog.get_batch(settings, batch.id)
    assert done is not None and done.status == "completed" and summary.batch_id == batch.id
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (7, 6, 1)
    assert done.errors is not None and [(e.line, e.code) for e in done.errors] == [(7, "invalid_request")]
    assert done.output_file_id and done.error_file_id
    output = catalog.get_file(settings, done.output_file_id)
    assert output is not None and (output.tenant, output.purpose) == ("acme", "batch_output")
    results = [json.loads(line) for line in catalog.file_content(settings, done.output_file_id).splitlines()]
    assert [line["custom_id"] for line in results] == [f"s{index}" for index in range(6)]
    assert all(line["response"]["request_id"] for line in results)
    errors = catalog.file_content(settings, done.error_file_id).decode()
    assert '"line 7: not JSON' in errors
    assert done.completed_at is not None and done.in_progress_at is not None


def test_cancel_between_slices_publishes_the_answers_so_far(flow_env: dict[str, str]) -> None:
    from flows.serve_batch import serve_batch
    from genai.batch import catalog

    settings = get_settings()
    lines = [chat_request(f"c{index:02d}", max_tokens=64, ignore_eos=True) for index in range(24)]
    source = catalog.create_file(
        settings, data="\n".join(lines).encode(), filename="in.jsonl", purpose="batch", tenant="acme"
    )
    batch = catalog.create_batch(settings, tenant="acme", input_file_id=source.id, endpoint=CHAT)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["summary"] = serve_batch(
                batch_id=batch.id, input_file_id=source.id, pool="cancel", concurrency=2, slice_size=4
            )
        except BaseException as error:  # the assertion below reports it
            outcome["error"] = error

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        record = catalog.get_batch(settings, batch.id)
        if record is not None and record.request_counts.completed >= 4:  # the first slice is in
            catalog.update_batch(settings, batch.id, status="cancelling")
            break
        time.sleep(0.05)
    runner.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    done = catalog.get_batch(settings, batch.id)
    assert done is not None and done.status == "cancelled" and done.cancelled_at is not None
    summary = outcome["summary"]
    assert summary.cancelled and 4 <= summary.completed < 24 and summary.not_sent == 24 - summary.completed
    assert done.output_file_id is not None
    results = catalog.file_content(settings, done.output_file_id).splitlines()
    ids = [json.loads(line)["custom_id"] for line in results]
    assert len(ids) == len(set(ids)) == summary.completed == done.request_counts.completed
    assert summary.output_failures == []


def test_batches_on_one_pool_share_its_slots(
    flow_env: dict[str, str], batch_gateway: BatchGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two batches at once, each asking for all 4 slots of the pool: together they never have more than
    4 requests in flight at the gateway (without the limit they would have 8)."""
    from flows.serve_batch import serve_batch

    monkeypatch.setenv("GENAI_BATCH__POOL_SLOTS", '{"shared": 4}')
    get_settings.cache_clear()
    outcome: dict[str, Any] = {}

    def run(name: str) -> None:
        source = tmp_path / f"{name}.jsonl"
        lines = [chat_request(f"{name}{index:02d}", max_tokens=64, ignore_eos=True) for index in range(16)]
        source.write_text("\n".join(lines) + "\n")
        try:
            outcome[name] = serve_batch(
                input_path=str(source),
                pool="shared",
                concurrency=4,
                slice_size=4,
                output_dir=str(tmp_path / name),
            )
        except BaseException as error:  # the assertion below reports it
            outcome[name] = error

    batch_gateway.access.spans.clear()
    runners = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=120)
    assert [getattr(outcome.get(name), "completed", outcome.get(name)) for name in "ab"] == [16, 16]
    assert len(batch_gateway.access.spans) == 32
    assert 2 <= batch_gateway.access.most_at_once() <= 4
