"""The vLLM workers' HPA scales on the metric vLLM really exports: the adapter rule selects vLLM's own
series (checked against a saved scrape of vLLM 0.32.0, which tests/observability keeps in step with the
installed vLLM), it is a gauge (a level, not a counter that only grows), and the HPA asks the custom
metrics API for exactly the name the rule exposes, per pod of the workers' Deployment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.deployments.tools import ROOT, find, render, validate

SCRAPE = ROOT / "tests" / "observability" / "data" / "vllm-0.32.0-metrics.txt"
ADAPTER = ROOT / "deployments" / "helm" / "prometheus-adapter-values.yaml"


def _types(path: Path) -> dict[str, str]:
    types = {}
    for line in path.read_text().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            types[name] = kind
    return types


def _rule() -> dict[str, Any]:
    rules = yaml.safe_load(ADAPTER.read_text())["rules"]["custom"]
    assert len(rules) == 1
    rule: dict[str, Any] = rules[0]
    return rule


def test_the_adapter_rule_selects_a_gauge_vllm_exports() -> None:
    rule = _rule()
    series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"])
    assert series is not None
    assert series.group(0) == "vllm:num_requests_waiting"
    assert _types(SCRAPE)[series.group(0)] == "gauge"
    assert re.fullmatch(rule["name"]["matches"], series.group(0))
    # The HPA counts pods: the series must map to a namespace and a pod.
    assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}


def test_the_hpa_asks_for_the_name_the_adapter_exposes() -> None:
    docs = render("values-production.yaml")
    hpa = find(docs, "HorizontalPodAutoscaler", "vllm-tiny")
    validate(hpa)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] == _rule()["name"]["as"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "vllm-tiny",
    }
    find(docs, "Deployment", "vllm-tiny")
    # The pods it counts are scraped with namespace and pod labels (ServiceMonitor on the workers' Service).
    monitor = find(docs, "ServiceMonitor", "vllm-tiny")
    service = find(docs, "Service", "vllm-tiny")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_no_hpa_without_the_adapter_by_default() -> None:
    """The default install must not ask for a custom metric that nothing serves (an HPA stuck failing)."""
    docs = render()
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
