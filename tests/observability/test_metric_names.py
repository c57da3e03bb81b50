"""Every alert and dashboard query names only metrics something in the platform really exports: the
gateway's registry, the platform exporter's collectors, a real vLLM 0.32.0 worker's and a real Prefect
3.9.1 server's scrape (tests/observability/data), and Prometheus's own ``up``. A renamed metric, or a
typo in a query, fails here instead of drawing an empty panel or an alert that can never fire."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from genai.orchestration.flow_metrics import FlowRunCollector, _families
from genai.stores.ingest_metrics import IngestCollector
from tests.observability.promql_names import exposed_names, metric_names, names_in_exposition

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deployments" / "observability"
DATA = Path(__file__).parent / "data"


def _alert_exprs() -> list[str]:
    rules = yaml.safe_load((OBS / "prometheus" / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[tuple[str, str]]:
    found = []
    for path in sorted((OBS / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            found += [(path.stem, target["expr"]) for target in panel["targets"]]
    return found


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    from gateway.telemetry.metrics import REGISTRY

    database = tmp_path_factory.mktemp("exporter") / "genai.db"  # an empty one: every family, no samples
    names = exposed_names([REGISTRY, IngestCollector(f"sqlite:///{database}")])
    # The flow-run families as they look with runs to report (a collector with no server reports up only).
    run = {"flow_id": "f", "state_type": "COMPLETED", "total_run_time": 1.0}
    for family in _families([run], {"f": "ingest"}, timedelta(hours=24)):
        names.add(family.name)
    names |= exposed_names([FlowRunCollector("http://127.0.0.1:9/api", timeout=0.2)])
    names |= names_in_exposition(DATA / "vllm-0.32.0-metrics.txt")
    names |= names_in_exposition(DATA / "prefect-3.9.1-server-metrics.txt")
    return names | {"up"}


def test_the_tokeniser_finds_selectors_and_nothing_else() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, model) "
        '(rate(genai_gateway_request_seconds_bucket{status=~"5.."}[$__rate_interval]))) '
        "/ on (model) group_left max(vllm:num_requests_running) > 2^20 and time() - x_y"
    )
    assert metric_names(expr) == {"genai_gateway_request_seconds_bucket", "vllm:num_requests_running", "x_y"}


def test_the_exported_names_include_each_kind_with_its_suffixes(exported: set[str]) -> None:
    assert {"genai_gateway_requests_total", "genai_gateway_request_seconds_bucket"} <= exported
    assert {"genai_gateway_in_flight", "genai_ingest_documents_total", "genai_prefect_flow_runs"} <= exported
    assert {"vllm:prompt_tokens_total", "vllm:time_to_first_token_seconds_bucket"} <= exported
    assert "genai_gateway_requests" not in exported  # a counter is only ever read with its _total


@pytest.mark.parametrize("expr", _alert_exprs())
def test_every_alert_reads_exported_metrics(expr: str, exported: set[str]) -> None:
    names = metric_names(expr)
    assert names, f"no metric found in {expr!r}"
    assert names <= exported, f"not exported: {sorted(names - exported)}"


@pytest.mark.parametrize(("dashboard", "expr"), _dashboard_exprs())
def test_every_dashboard_query_reads_exported_metrics(dashboard: str, expr: str, exported: set[str]) -> None:
    names = metric_names(expr)
    assert names, f"{dashboard}: no metric found in {expr!r}"
    assert names <= exported, f"{dashboard}: not exported: {sorted(names - exported)}"


def test_the_dashboards_cover_what_the_issue_lists() -> None:
    exprs = " ".join(expr for _, expr in _dashboard_exprs())
    for metric in (
        "genai_gateway_requests_total",
        "genai_gateway_request_seconds_bucket",
        "genai_gateway_time_to_first_token_seconds_bucket",
        "genai_gateway_tokens_total",
        "genai_gateway_cost_usd_total",
        "genai_gateway_cache_lookups_total",
        "genai_gateway_limit_rejections_total",
        "vllm:num_requests_running",
        "genai_prefect_flow_runs",
        "genai_ingest_last_run_quarantine_ratio",
    ):
        assert metric in exprs, metric


def test_the_saved_vllm_scrape_matches_the_installed_vllm() -> None:
    """The vLLM names come from a saved scrape: the installed vLLM's metrics code must still define each
    one the dashboards read, so a vLLM upgrade that renames one fails here."""
    from tests.fixtures.services import service_unavailable

    sources = sorted((ROOT / ".venv-vllm").glob("lib/python3*/site-packages/vllm/v1/metrics/*.py"))
    if not sources:
        service_unavailable("no .venv-vllm (make vllm)")
    code = "\n".join(path.read_text() for path in sources)
    used = {name for _, expr in _dashboard_exprs() for name in metric_names(expr) if name.startswith("vllm:")}
    assert used
    for name in sorted(used):
        base = name.removesuffix("_bucket").removesuffix("_total")
        assert f'"{base}"' in code, f"{name}: vLLM's metrics code no longer names {base}"
