"""The report's breakdowns as rows: the Prefect table artifact and the CSV export share them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from genai.reports.model import CostReport

GROUP_FIELDS = (
    "requests",
    "succeeded",
    "errors",
    "unpriced",
    "cost_usd",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "previous_cost_usd",
    "change_pct",
)


def breakdown_rows(report: CostReport) -> list[dict[str, Any]]:
    """The totals, then every breakdown, one row per value."""
    rows = [{"dimension": "total", "value": "all", **_totals_row(report)}]
    for dimension, groups in report.breakdowns.items():
        for group in groups:
            numbers = group.model_dump(include=set(GROUP_FIELDS))
            rows.append({"dimension": dimension, "value": group.value, **numbers})
    return rows


def _totals_row(report: CostReport) -> dict[str, Any]:
    totals = report.totals
    return {
        "requests": totals.requests,
        "succeeded": totals.requests - totals.errors,
        "errors": totals.errors,
        "unpriced": totals.unpriced_requests,
        "cost_usd": totals.cost_usd,
        "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens,
        "cached_tokens": totals.cached_tokens,
        "previous_cost_usd": report.previous.cost_usd,
        "change_pct": report.change_pct,
    }


def write_csv(report: CostReport, path: Path) -> Path:
    """The rows as CSV (``dimension, value`` and the numbers; an empty cell is "none"); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["dimension", "value", *GROUP_FIELDS])
        writer.writeheader()
        writer.writerows(breakdown_rows(report))
    return path
