"""Prefect integration: `genai up` serves the platform's deployments so a run launched through the API
(as the UI's form does) ingests for real; deployments/prefect.yaml deploys the same flows to a shared
server, and a process worker runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from genai.settings import Settings
from tests.fixtures.documents import write_good_corpus
from tests.fixtures.ingest import assert_consistent

REPO = Path(__file__).resolve().parents[2]
PREFECT_CLI = [str(Path(sys.executable).parent / "prefect")]  # as on a new user's PATH, not `python -m`


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def api(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call to the Prefect REST API, retried on 503 as Prefect's own client does: on SQLite the server
    answers 503 for a write that found the database busy (a served deployment and the server's own
    services write at the same moments), which means "try again", not a failure."""
    for attempt in range(6):
        response = httpx.request(method, f"{base}{path}", json=body, timeout=10)
        if response.status_code != 503:
            break
        time.sleep(0.5 * 2**attempt)
    response.raise_for_status()
    return response.json()


def wait_for_final_state(base: str, run_id: str, timeout: float) -> str:
    def final() -> str | None:
        state = api(base, "GET", f"/flow_runs/{run_id}")["state_type"]
        return state if state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

    return str(wait_for(final, timeout, f"flow run {run_id}"))


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_genai_up_serves_the_ingest_deployment_and_runs_it_from_the_api(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    good = write_good_corpus(corpus)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "PREFECT_HOME"}}
    env.update(
        GENAI_HOME=str(settings.home), GENAI_PREFECT__PORT=str(port), GENAI_GATEWAY__PORT=str(free_port())
    )
    env["GENAI_REGISTRY__UI_PORT"] = str(free_port())  # `genai up` runs the MLflow UI too: not on 5000
    up = subprocess.Popen(
        [sys.executable, "-m", "genai.cli.main", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: healthy(base), 120, "the Prefect server")
        expected = {"ingest", "evaluate", "evaluate-nightly", "promote", "cost-report", "cost-report-daily"}

        def all_served() -> dict[str, Any] | None:
            served = {d["name"]: d for d in api(base, "POST", "/deployments/filter", {})}
            return served if expected <= set(served) else None

        by_name = wait_for(all_served, 60, f"the served deployments {sorted(expected)}")
        deployment = by_name["ingest"]
        assert deployment["enforce_parameter_schema"] is True
        form = deployment["parameter_openapi_schema"]["properties"]
        # One row per parameter in the UI, titled in plain language, none of them offering "None".
        assert list(form)[:2] == ["source", "knowledge_base"]
        assert form["knowledge_base"]["title"] == "Knowledge base"
        assert all("anyOf" not in field and field.get("default", "") is not None for field in form.values())

        # As the README tells an external system: the deployment's id by name, then create_flow_run.
        deployment_id = api(base, "GET", "/deployments/name/ingest/ingest")["id"]
        create = f"/deployments/{deployment_id}/create_flow_run"
        for attempt in range(6):  # 503: the SQLite database was busy, as in api()
            refused = httpx.post(
                base + create, json={"parameters": {"source": str(corpus), "knowledge_base": "Bad Name"}}
            )
            if refused.status_code != 503:
                break
            time.sleep(0.5 * 2**attempt)
        assert refused.status_code == 409 and "knowledge_base" in refused.json()["detail"], refused.text
        # Exactly the payload the README shows an external system sending.
        payload = {"parameters": {"source": str(corpus), "knowledge_base": "from-ui"}}
        run = api(base, "POST", create, payload)
        assert wait_for_final_state(base, run["id"], 300) == "COMPLETED"

        wanted = {f"ingest-from-ui-{part}" for part in ("summary", "counts", "progress", "quarantine")}
        artifacts = api(base, "POST", "/artifacts/filter", {"artifacts": {"key": {"any_": sorted(wanted)}}})
        assert {artifact["key"] for artifact in artifacts} == wanted

        # The hint `genai up` prints, run from "another shell": only PREFECT_API_URL set, no Prefect home.
        shell = {k: v for k, v in env.items() if not k.startswith(("PREFECT_", "GENAI_"))}
        shell.update(PREFECT_API_URL=base, HOME=str(tmp_path / "another-user"))
        params = ["-p", f"source={corpus}", "-p", "knowledge_base=from-shell"]
        hint = subprocess.run(
            [*PREFECT_CLI, "deployment", "run", "ingest/ingest", *params],
            env=shell,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert hint.returncode == 0, hint.stdout + hint.stderr
        # The ingest deployment's newest run (evaluate-nightly's scheduled runs start later than it).
        ingest_runs = {"deployments": {"id": {"any_": [deployment_id]}}}
        newest = {**ingest_runs, "sort": "EXPECTED_START_TIME_DESC", "limit": 1}
        from_shell = api(base, "POST", "/flow_runs/filter", newest)
        assert from_shell[0]["parameters"]["knowledge_base"] == "from-shell"
        assert wait_for_final_state(base, from_shell[0]["id"], 300) == "COMPLETED"
    finally:
        os.killpg(up.pid, signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode(errors="replace")
    assert up.returncode is not None
    assert not healthy(base), "the Prefect server outlived `genai up`"
    assert "ingest/ingest" in output
    assert f"export PREFECT_API_URL=http://127.0.0.1:{port}/api" in output
    assert set(assert_consistent(settings, "from-ui").documents) == set(good)
    assert set(assert_consistent(settings, "from-shell").documents) == set(good)


def test_prefect_yaml_declares_real_entrypoints_and_valid_parameters() -> None:
    from prefect.flows import load_flow_from_entrypoint

    from genai.ingest.request import IngestRequest

    spec = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    assert spec["prefect-version"] == "3.9.1"
    for deployment in spec["deployments"]:
        flow: Any = load_flow_from_entrypoint(str(REPO / deployment["entrypoint"]))
        assert flow.name == deployment["entrypoint"].rsplit(":", 1)[1]  # flows/NAME.py:NAME
        if "parameters" in deployment and flow.name == "cost_report":
            validated = flow.validate_parameters(deployment["parameters"])
            assert validated["period"] in {"previous-day", "previous-week"}
        elif "parameters" in deployment and flow.name == "ingest_sharded":
            shard_deployment = flow.validate_parameters(
                {**deployment["parameters"], "source": "/data", "knowledge_base": "kb"}
            )["deployment"]
            assert shard_deployment in {
                d["entrypoint"].split(":")[1] + "/" + d["name"] for d in spec["deployments"]
            }
        elif "parameters" in deployment:
            assert flow.name == "ingest"
            IngestRequest.model_validate(deployment["parameters"])
        assert deployment["work_pool"]["name"] in {"genai-process", "genai-kubernetes"}


def test_kubernetes_manifests_are_well_formed() -> None:
    documents = [
        doc
        for path in sorted((REPO / "deployments" / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    assert documents
    for doc in documents:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "genai", doc["metadata"]["name"]
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in documents}
    assert {
        ("Deployment", "prefect-worker"),
        ("StatefulSet", "qdrant"),
        ("Deployment", "prefect-server"),
    } <= kinds


@pytest.mark.slow
def test_prefect_deploy_then_a_process_worker_runs_the_flow(
    prefect_api_url: str, settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    good = write_good_corpus(corpus)
    base = prefect_api_url
    env = {
        **os.environ,
        "PREFECT_API_URL": base,
        "GENAI_PROJECT_DIR": str(REPO),
        "GENAI_IMAGE": "genai:test",
        "GENAI_HOME": str(settings.home),
    }
    prefect = [sys.executable, "-m", "prefect"]
    subprocess.run(
        [*prefect, "work-pool", "create", "genai-process", "--type", "process", "--overwrite"],
        env=env,
        check=True,
        capture_output=True,
    )
    deploy = subprocess.run(
        [*prefect, "--no-prompt", "deploy", "--name", "ingest", "--prefect-file", "deployments/prefect.yaml"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    deployment = api(base, "GET", "/deployments/name/ingest/ingest")
    assert deployment["work_pool_name"] == "genai-process"
    run = api(
        base,
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        {"parameters": {"source": str(corpus), "knowledge_base": "pooled"}},
    )

    worker = subprocess.run(
        [*prefect, "worker", "start", "--pool", "genai-process", "--run-once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )

    assert wait_for_final_state(base, run["id"], 60) == "COMPLETED", worker.stdout[-3000:]
    assert set(assert_consistent(settings, "pooled").documents) == set(good)
