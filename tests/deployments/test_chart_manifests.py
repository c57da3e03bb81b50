"""The Helm chart renders with each values file, passes `helm lint`, and every object it renders is valid
against the Kubernetes schemas (strict); the probes ask the paths the servers really answer, and every
Service selects pods that exist and name ports those pods open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deployments.tools import CHART, ROOT, find, pod_spec, render, run, tool, validate

K8S = ROOT / "deployments" / "k8s"

VALUES = [(), ("values-laptop.yaml",), ("values-production.yaml",)]
WORKLOADS = {"Deployment", "StatefulSet"}


@pytest.fixture(scope="module", params=VALUES, ids=["default", "laptop", "production"])
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(*request.param)


@pytest.mark.parametrize("values", VALUES, ids=["default", "laptop", "production"])
def test_helm_lint_is_clean(values: tuple[str, ...]) -> None:
    command = [tool("helm", "deployments/helm/fetch-helm.sh"), "lint", "--strict", str(CHART)]
    for name in values:
        command += ["-f", str(CHART / name)]
    done = run(command)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_object_is_valid_against_the_kubernetes_schemas(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        if doc["apiVersion"] == "monitoring.coreos.com/v1":  # a CRD: no schema ships for it
            assert doc["kind"] == "ServiceMonitor"
            continue
        validate(doc)


def test_the_validator_refuses_an_unknown_field() -> None:
    """The check above means something: a misspelt field is an error, not ignored."""
    import kubernetes_validate

    docs = render()
    deployment = find(docs, "Deployment", "genai-gateway")
    pod_spec(deployment)["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz", "port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)


def test_the_chart_has_every_part(docs: list[dict[str, Any]]) -> None:
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for part in [
        ("Deployment", "genai-gateway"),
        ("Service", "genai-api"),
        ("Service", "genai-gateway"),
        ("StatefulSet", "qdrant"),
        ("Deployment", "mlflow"),
        ("Deployment", "prefect-server"),
        ("Deployment", "prefect-worker"),
        ("ConfigMap", "genai-config"),
        ("ConfigMap", "prefect-base-job-template"),
        ("NetworkPolicy", "default-deny-ingress"),
    ]:
        assert part in names, part


def test_production_scales_the_gateway_and_the_workers() -> None:
    docs = render("values-production.yaml")
    gateway = find(docs, "HorizontalPodAutoscaler", "genai-gateway")
    assert gateway["spec"]["scaleTargetRef"]["name"] == "genai-gateway"
    assert gateway["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in find(docs, "Deployment", "genai-gateway")["spec"]  # the HPA owns the count
    assert find(docs, "HorizontalPodAutoscaler", "vllm-tiny")["spec"]["minReplicas"] == 2
    assert not [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "postgres"]


def _container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(doc)["containers"] if c["name"] == name)


def _port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p.get("name") == port)


def test_vllm_readiness_is_its_health_endpoint_on_its_serving_port() -> None:
    docs = render()
    vllm = _container(find(docs, "Deployment", "vllm-tiny"), "vllm")
    serving_port = int(next(a.split("=")[1] for a in vllm["args"] if a.startswith("--port=")))
    for probe in ("readinessProbe", "startupProbe", "livenessProbe"):
        get = vllm[probe]["httpGet"]
        assert get["path"] == "/health", probe  # vLLM's OpenAI server answers 200 there once loaded
        assert _port(vllm, get["port"]) == serving_port, probe


def test_gateway_probes_are_routes_the_gateway_serves() -> None:
    from gateway.api.health import router

    served = {route.path for route in router.routes}  # type: ignore[attr-defined]
    docs = render()
    gateway = _container(find(docs, "Deployment", "genai-gateway"), "gateway")
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert gateway[probe]["httpGet"]["path"] in served, probe
        assert _port(gateway, gateway[probe]["httpGet"]["port"]) == int(gateway["command"][-1])


def test_every_service_selects_pods_and_their_ports(docs: list[dict[str, Any]]) -> None:
    workloads = [d for d in docs if d["kind"] in WORKLOADS]
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        pods = [
            w for w in workloads if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert pods, f"Service {service['metadata']['name']} selects no pod"
        containers = [c for w in pods for c in pod_spec(w)["containers"]]
        opened = {p.get("name") for c in containers for p in c.get("ports", [])}
        opened |= {p["containerPort"] for c in containers for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in opened, (service["metadata"]["name"], port)


def test_mounted_config_maps_secrets_and_claims_exist(docs: list[dict[str, Any]]) -> None:
    have = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for workload in (d for d in docs if d["kind"] in WORKLOADS):
        spec = pod_spec(workload)
        claims = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in have, volume
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in have, volume
        for container in spec["containers"] + spec.get("initContainers", []):
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in spec.get("volumes", [])} | claims, container["name"]
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    secret = find(docs, "Secret", ref["name"]) if ("Secret", ref["name"]) in have else None
                    assert secret is not None or ref["name"] == "genai-secrets", ref
                    if secret is not None:
                        assert ref["key"] in secret["stringData"], ref


def test_the_plain_manifests_are_the_chart_rendered(tmp_path: Path) -> None:
    """deployments/k8s (for kubectl without Helm) is the chart's default render: run
    deployments/helm/render-k8s.sh after changing the chart."""
    helm = tool("helm", "deployments/helm/fetch-helm.sh")
    done = run([helm, "template", "genai", str(CHART), "--namespace", "genai", "--output-dir", str(tmp_path)])
    assert done.returncode == 0, done.stderr
    rendered = {p.name: p.read_text() for p in (tmp_path / "genai-platform" / "templates").glob("*.yaml")}
    shipped = {p.name: p for p in K8S.glob("*.yaml") if p.name != "namespace.yaml"}
    assert set(shipped) == set(rendered)
    for name, text in rendered.items():
        body = "\n".join(shipped[name].read_text().splitlines()[2:])  # below the two-line header
        assert body.strip() == text.strip(), (
            f"deployments/k8s/{name} is stale: run deployments/helm/render-k8s.sh"
        )
    for doc in (d for p in shipped.values() for d in yaml.safe_load_all(p.read_text()) if d):
        assert doc["metadata"]["namespace"] == "genai"
