"""The platform's settings and secrets reach flow-run pods on Kubernetes.

The chart's work-pool base job template goes through prefect-kubernetes' own job configuration (the code
the worker runs for each flow run: templating, env, labels, command), and the Job it would create is
checked: valid against the Kubernetes schema, its pod mounts the genai-config ConfigMap the chart renders,
GENAI_CONFIG names the mounted file, the genai-secrets Secret comes in through envFrom, and the platform's
own Settings, loaded from exactly that file and those variables, point at the in-cluster services.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.deployments.tools import find, pod_spec, render, validate


def _flow_run_job(docs: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    from prefect.client.schemas.objects import FlowRun
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    # As in the worker's pod: the API is the cluster's Prefect server (never contacted here: the template
    # has no block or variable references), so no temporary local server is started either.
    api = "http://prefect-server.genai.svc.cluster.local:4200/api"
    template = json.loads(
        find(docs, "ConfigMap", "prefect-base-job-template")["data"]["base-job-template.json"]
    )
    with temporary_settings({PREFECT_API_URL: api}):
        config = asyncio.run(KubernetesWorkerJobConfiguration.from_template_and_values(template, values))
        flow_run = FlowRun(id=uuid.uuid4(), name="brave-otter", flow_id=uuid.uuid4())
        config.prepare_for_flow_run(flow_run)
    manifest: dict[str, Any] = config.job_manifest
    return manifest


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render()


def test_the_flow_run_job_is_a_valid_job_with_the_platform_image(docs: list[dict[str, Any]]) -> None:
    job = _flow_run_job(docs, {})
    # prefect-kubernetes insists on these two in the pod spec (where Kubernetes ignores them): the only
    # fields the strict schema would refuse.
    assert pod_spec(job).pop("parallelism") == 1 and pod_spec(job).pop("completions") == 1
    validate(job)
    container = pod_spec(job)["containers"][0]
    assert container["image"] == "genai-platform:0.1.0"
    assert job["metadata"]["namespace"] == "genai"
    assert pod_spec(job)["serviceAccountName"] == "genai-flow-run"
    assert (
        job["spec"]["template"]["metadata"]["labels"]["app"] == "genai-flow-run"
    )  # the NetworkPolicies' key
    # The worker passes the flow run's command as args: the image must run them as they are, so neither
    # the container nor the image may put a program of its own in front (no command, no ENTRYPOINT).
    assert container["args"][:3] == ["prefect", "flow-run", "execute"]
    assert "command" not in container
    from tests.deployments.test_dockerfiles import instructions

    for dockerfile in ("Dockerfile", "Dockerfile.gpu"):
        assert "ENTRYPOINT" not in {kind for kind, _ in instructions(dockerfile)}, dockerfile


def test_settings_and_secrets_reach_the_flow_run_pod(
    docs: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _flow_run_job(docs, {"env": {"EXTRA": "1"}})  # a deployment's own env must not push ours out
    spec = pod_spec(job)
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["EXTRA"] == "1" and "PREFECT__FLOW_RUN_ID" in env
    assert env["PREFECT_API_URL"] == "http://prefect-server.genai.svc.cluster.local:4200/api"

    # The file: GENAI_CONFIG names a file inside a mount of the chart's ConfigMap, under a key it has.
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in container["volumeMounts"] if env["GENAI_CONFIG"].startswith(m["mountPath"] + "/"))
    config_map = find(docs, "ConfigMap", volumes[mount["name"]]["configMap"]["name"])
    key = env["GENAI_CONFIG"].removeprefix(mount["mountPath"] + "/")
    assert key in config_map["data"]

    # The secrets: every Secret the pod takes its variables from is one the chart renders.
    secrets = [find(docs, "Secret", ref["secretRef"]["name"]) for ref in container["envFrom"]]
    assert [s["metadata"]["name"] for s in secrets] == ["genai-secrets"]
    assert (
        "PREFECT_API_DATABASE_CONNECTION_URL" not in secrets[0]["stringData"]
    )  # the services' own, not ours

    # What the platform reads in that pod: the mounted file and those variables.
    (tmp_path / key).write_text(config_map["data"][key])
    monkeypatch.setenv("GENAI_CONFIG", str(tmp_path / key))
    for name, value in secrets[0]["stringData"].items():
        monkeypatch.setenv(name, value)
    from genai.settings import Settings

    settings = Settings()
    assert (
        settings.database_url
        == "postgresql+psycopg://genai:change-me@postgres.genai.svc.cluster.local:5432/genai"
    )
    assert settings.redis_url == "redis://redis.genai.svc.cluster.local:6379/0"
    assert settings.qdrant.url == "http://qdrant.genai.svc.cluster.local:6333"
    assert settings.mlflow_tracking_uri == "http://mlflow.genai.svc.cluster.local:5000"
    assert settings.prefect.api_url == "http://prefect-server.genai.svc.cluster.local:4200/api"
    assert settings.gateway.upstreams["vllm-tiny"].dns == "vllm-tiny.genai.svc.cluster.local:8000"


def test_the_gateway_reads_the_same_settings(docs: list[dict[str, Any]]) -> None:
    gateway = pod_spec(find(docs, "Deployment", "genai-gateway"))
    flow_run = pod_spec(_flow_run_job(docs, {}))
    for spec in (gateway, flow_run):
        container = spec["containers"][0]
        assert {"name": "GENAI_CONFIG", "value": "/etc/genai/config.yaml"} in container["env"]
        assert container["envFrom"] == [{"secretRef": {"name": "genai-secrets"}}]
        assert {"name": "genai-config", "configMap": {"name": "genai-config"}} in spec["volumes"]


def test_the_worker_writes_that_template_to_its_pool(docs: list[dict[str, Any]]) -> None:
    worker = find(docs, "Deployment", "prefect-worker")
    init = pod_spec(worker)["initContainers"][0]
    assert init["command"][:4] == ["prefect", "work-pool", "create", "genai-kubernetes"]
    path = init["command"][init["command"].index("--base-job-template") + 1]
    assert "--overwrite" in init["command"]  # a changed template replaces the pool's, not ignored
    mount = next(m for m in init["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod_spec(worker)["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == "prefect-base-job-template"
    assert path.endswith("/base-job-template.json")
    assert pod_spec(worker)["containers"][0]["command"][-3:] == ["genai-kubernetes", "--type", "kubernetes"]


def test_production_settings_are_merged_over_the_generated_ones() -> None:
    import yaml

    from genai.settings import Settings

    docs = render("values-production.yaml")
    text = find(docs, "ConfigMap", "genai-config")["data"]["config.yaml"]
    settings = Settings.model_validate(yaml.safe_load(text))  # every key a known setting
    assert settings.batch.storage == "s3" and settings.batch.s3 is not None
    assert settings.qdrant.url == "http://qdrant.genai.svc.cluster.local:6333"
    assert "qwen2.5-7b-instruct" in settings.gateway.models
    assert not [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "genai-secrets"]
