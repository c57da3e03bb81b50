"""The NetworkPolicies let through exactly the connections the platform makes: an evaluator of the rendered
policies (pod labels, ports) answers whether a client pod may open a port of a server pod, the way a
policy-enforcing CNI would for ingress within the namespace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deployments.tools import render

# (client app, server app, port): what the platform needs.
NEEDED = [
    ("genai-gateway", "postgres", 5432),
    ("genai-gateway", "redis", 6379),
    ("genai-gateway", "qdrant", 6333),
    ("genai-gateway", "mlflow", 5000),
    ("genai-gateway", "vllm-tiny", 8000),
    ("genai-gateway", "prefect-server", 4200),
    ("genai-flow-run", "postgres", 5432),
    ("genai-flow-run", "qdrant", 6333),
    ("genai-flow-run", "mlflow", 5000),
    ("genai-flow-run", "prefect-server", 4200),
    ("genai-flow-run", "genai-gateway", 8000),  # batch serving goes through the gateway
    ("prefect-worker", "prefect-server", 4200),
    ("prefect-server", "postgres", 5432),
    ("mlflow", "postgres", 5432),
    ("prometheus", "vllm-tiny", 8000),
    ("prometheus", "genai-gateway", 8000),
    ("prometheus", "prefect-server", 4200),
    ("prometheus", "genai-metrics", 9464),
    ("grafana", "prometheus", 9090),
    ("someone-else", "genai-gateway", 8000),
]
# What must stay shut: nobody but the gateway talks to the GPU workers; the stores take only their users.
DENIED = [
    ("genai-flow-run", "vllm-tiny", 8000),
    ("someone-else", "postgres", 5432),
    ("someone-else", "redis", 6379),
    ("someone-else", "qdrant", 6333),
    ("prefect-worker", "postgres", 5432),
    ("genai-gateway", "postgres", 6379),
]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert not selector.get("matchExpressions"), "the evaluator reads matchLabels only"
    return selector.get("matchLabels", {}).items() <= labels.items()


def allowed(
    policies: list[dict[str, Any]], client: dict[str, str], server: dict[str, str], port: int
) -> bool:
    """Whether ingress from pod ``client`` (same namespace) to ``server:port`` is allowed."""
    selecting = [p for p in policies if _selects(p["spec"]["podSelector"], server)]
    assert all("Ingress" in p["spec"]["policyTypes"] for p in selecting)
    if not selecting:
        return True  # no policy isolates the pod
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if ports and port not in ports:
                continue
            peers = rule.get("from")
            if peers is None or any("podSelector" in p and _selects(p["podSelector"], client) for p in peers):
                return True
    return False


@pytest.fixture(scope="module")
def policies() -> list[dict[str, Any]]:
    docs = render("values-production.yaml")
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize(("client", "server", "port"), NEEDED)
def test_needed_connections_are_allowed(
    policies: list[dict[str, Any]], client: str, server: str, port: int
) -> None:
    assert allowed(policies, {"app": client}, {"app": server}, port)


@pytest.mark.parametrize(("client", "server", "port"), DENIED)
def test_other_connections_are_denied(
    policies: list[dict[str, Any]], client: str, server: str, port: int
) -> None:
    assert not allowed(policies, {"app": client}, {"app": server}, port)


def test_every_pod_is_isolated_by_default(policies: list[dict[str, Any]]) -> None:
    deny = next(p for p in policies if p["metadata"]["name"] == "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_production_lets_only_the_ingress_namespace_reach_the_gateway(policies: list[dict[str, Any]]) -> None:
    gateway = next(p for p in policies if p["metadata"]["name"] == "genai-gateway")
    peers = gateway["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in peers
    assert {"podSelector": {}} in peers  # and the namespace's own pods (flow runs, Prometheus)
