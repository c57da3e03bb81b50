"""The cost report flow end to end on the session's Prefect server: a ledger in the test's SQLite database,
a version registered in MLflow with an evaluation, budgets in the settings file, and a webhook receiver on
127.0.0.1. The run publishes the artifacts under their stable keys, the chart and the CSV, reports the
ledger suite's failure instead of hiding it, and sends each budget threshold once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from genai.db import ReportAlertRow, get_engine
from genai.evaluation.results import EvalSummary
from genai.settings import Settings, get_settings
from tests.reports.ledger_data import NOV, insert, ledger_row
from tests.reports.webhook import Receiver, webhook_receiver


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def platform(
    genai_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: Receiver
) -> Settings:
    config = {
        "tenants": {"acme": {"budget_usd": 10.0}, "globex": {"budget_usd": 100.0}},
        "accounting": {"prices": {"gpt-4o-mini": {"input_per_1m": 0.15, "output_per_1m": 0.6}}},
        "reports": {
            "webhook_url": webhook.url,
            "gpu_pools": {"a100": {"upstream": "vllm", "gpu_hour_usd": 2}},
        },
    }
    path = tmp_path / "genai.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("GENAI_CONFIG", str(path))
    get_settings.cache_clear()
    return get_settings()


def _register_evaluated_version(settings: Settings) -> None:
    """qa/1 in the registry, with a finished evaluation: 3 of 4 answers correct."""
    from registry.client import ModelRegistry
    from registry.spec import ModelSpec, PriceEntry
    from registry.tracking import EvalRunInfo, log_eval_run

    registry = ModelRegistry.from_settings(settings)
    spec = ModelSpec(
        kind="openai",
        base_url="http://127.0.0.1:9/v1",
        served_model="qa-1",
        price=PriceEntry(input_per_1m=1.0),
    )
    version = registry.register("qa", spec).version
    summary = EvalSummary(
        metrics={"token_f1": 0.8}, k=3, n=4, errors=0, error_rate=0.0, correct=3, latency_p50_ms=10,
        latency_p95_ms=20, prompt_tokens=10, completion_tokens=5, tokens=15, cost_total=0.01,
        cost_per_request=0.0025, cost_per_correct=0.0033,
    )  # fmt: skip
    info = EvalRunInfo(model="qa", version=version, ref="qa", eval_set_sha256="ab" * 32)
    log_eval_run(registry, info, summary, [])


def _events(api_url: str, resource_id: str) -> list[dict[str, Any]]:
    body = {"filter": {"event": {"name": ["genai.budget.crossed"]}, "resource": {"id": [resource_id]}}}
    deadline = time.monotonic() + 30
    while True:
        found = (
            httpx.post(f"{api_url}/events/filter", json=body, timeout=10).raise_for_status().json()["events"]
        )
        if len(found) >= 2 or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.5)


def _artifact(api_url: str, key: str) -> dict[str, Any]:
    body = {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}
    [found] = httpx.post(f"{api_url}/artifacts/filter", json=body, timeout=10).raise_for_status().json()
    return dict(found)


def test_the_flow_publishes_the_report_and_alerts_once_per_threshold(
    platform: Settings, webhook: Receiver, prefect_api_url: str
) -> None:
    from flows.cost_report import cost_report

    _register_evaluated_version(platform)
    day = NOV + timedelta(days=3, hours=9)
    rows = [ledger_row(i, day + timedelta(minutes=i), cost_usd=1.0) for i in range(6)]  # acme: 60% of 10
    rows.append(ledger_row(50, day, tenant="globex", key_prefix="gk_glob", cost_usd=-0.25))  # a bad record
    rows.append(ledger_row(51, day, tenant="globex", model="gpt-4o-mini", model_version=None, cost_usd=None))
    insert(platform.sql_url, rows)

    result = cost_report(period="2026-11")

    report = result["report"]
    assert report["totals"]["requests"] == 8 and report["totals"]["cost_usd"] == pytest.approx(5.75)
    assert report["quality_failures"][0].startswith("no_negative_cost: 1 record(s): req-00000050")
    [unit] = report["unit_costs"]
    assert unit["model_version"] == "qa/1" and unit["correct_rate"] == pytest.approx(0.75)
    assert unit["per_correct_answer"] == pytest.approx(5.75 / (7 * 0.75))  # 7 served by qa/1
    assert [g["value"] for g in report["unpriced"]] == ["gpt-4o-mini"]
    markdown = _artifact(prefect_api_url, "cost-report-month")["data"]
    assert "# Cost report 2026-11 (month)" in markdown and "**The ledger suite failed**" in markdown
    assert "cost-report.png" in markdown
    table = _artifact(prefect_api_url, "cost-report-month-table")["data"]
    assert "acme" in table
    chart = Path(report["files"]["chart"])
    assert (
        chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        and chart.parent == platform.home / "reports" / "month" / "2026-11"
    )
    assert "tenant,acme,6" in Path(report["files"]["csv"]).read_text()
    assert [(b["tenant"], b["threshold_pct"]) for b in webhook.bodies] == [("acme", 50)]

    cost_report(period="2026-11")  # nothing new crossed: nothing sent again
    assert len(webhook.bodies) == 1

    more = [ledger_row(100 + i, day + timedelta(hours=1, minutes=i), cost_usd=1.0) for i in range(3)]
    insert(platform.sql_url, more)  # acme now at 90%
    second = cost_report(period="2026-11-04")  # a daily report counts the month's budget so far
    assert [(a["tenant"], a["threshold_pct"]) for a in second["alerts"]] == [("acme", 80)]
    assert [(b["tenant"], b["threshold_pct"]) for b in webhook.bodies] == [("acme", 50), ("acme", 80)]
    assert webhook.bodies[1]["budget_period"] == "2026-11" and webhook.bodies[1][
        "spent_usd"
    ] == pytest.approx(9.0)
    with get_engine(platform.sql_url).connect() as connection:
        sent = connection.execute(ReportAlertRow.__table__.select()).mappings().all()
    assert sorted((row["threshold"], row["webhook_status"]) for row in sent) == [(50, "204"), (80, "204")]
    events = _events(prefect_api_url, "genai.tenant.acme")
    assert sorted(json.loads(json.dumps(e["payload"]))["threshold_pct"] for e in events) == [50, 80]
    assert _artifact(prefect_api_url, "cost-report-day-alerts")["data"]


def test_the_period_parameter_is_checked_before_the_run(platform: Settings) -> None:
    from flows.cost_report import cost_report

    with pytest.raises(Exception, match="2026-W47"):
        cost_report(period="last tuesday")
