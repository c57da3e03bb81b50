"""The evaluation half of the local run: ask the real Prometheus what it made of the alert rules and of
every dashboard query over the run.

For each alert: Prometheus's own state at the end (inactive, pending, firing) and health, whether it
fired at any time during the run (its ALERTS series), and at how many of the run's 15 s steps its
expression held (the ``for:`` aside, since a minutes-long run cannot wait out a
10-minute ``for``). For each dashboard query: how many series it returned over the run, so a query that
names a metric nobody exports, or a label that does not exist, shows as 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deployments" / "observability"))
from render import grafana_expr  # noqa: E402 - the renderer substitutes Grafana's variables the same way

sys.path.insert(0, str(ROOT / "deployments" / "observability" / "grafana"))
from panels import DASHBOARDS  # noqa: E402


def _range(client: httpx.Client, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/query_range", params={"query": expr, "start": start, "end": end, "step": 15}
    )
    body = response.json()
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    return list(body["data"]["result"])


def _steps_true(series: list[dict[str, Any]]) -> int:
    return len({point[0] for s in series for point in s["values"]})


def evaluate_all(prometheus: str, start: float, end: float) -> dict[str, Any]:
    with httpx.Client(base_url=prometheus, timeout=30.0) as client:
        rules = client.get("/api/v1/rules").json()["data"]["groups"]
        targets = client.get("/api/v1/targets").json()["data"]["activeTargets"]
        alerts: list[dict[str, Any]] = []
        for group in rules:
            for rule in group["rules"]:
                series = _range(client, rule["query"], start, end)
                alerts.append(
                    {
                        "alert": rule["name"],
                        "state": rule["state"],
                        "health": rule["health"],
                        "steps_expression_true": _steps_true(series),
                        "labels_when_true": sorted({str(s["metric"]) for s in series})[:5],
                    }
                )
        queries = []
        for dashboard in DASHBOARDS:
            for panel in dashboard.panels:
                for expr, _legend in panel.queries:
                    series = _range(client, grafana_expr(expr, end - start), start, end)
                    queries.append(
                        {
                            "dashboard": dashboard.uid,
                            "panel": panel.title,
                            "expr": expr,
                            "series": len(series),
                        }
                    )
        fired = _range(client, 'max by (alertname) (ALERTS{alertstate="firing"})', start, end)
    steps = int((end - start) // 15) + 1
    return {
        "start": start,
        "end": end,
        "window_seconds": round(end - start),
        "alerts_fired_during_run": sorted(s["metric"]["alertname"] for s in fired),
        "steps": steps,
        "targets": [
            {"job": t["labels"]["job"], "url": t["scrapeUrl"], "health": t["health"]} for t in targets
        ],
        "alerts_firing": sorted({a["alert"] for a in alerts if a["state"] == "firing"}),
        "alerts": alerts,
        "queries_without_data": [q for q in queries if q["series"] == 0],
        "queries": queries,
    }
