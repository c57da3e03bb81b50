"""The report's chart: spend per day (bars, with the running total) beside spend per tenant, one PNG.

matplotlib is imported here only (and on its non-interactive backend), so nothing else pays for it.
"""

from __future__ import annotations

from itertools import accumulate
from pathlib import Path

from genai.reports.model import CostReport


def write_chart(report: CostReport, path: Path, top: int = 10) -> Path:
    """Draw the chart of ``report`` into ``path`` (a PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, (daily, tenants) = plt.subplots(1, 2, figsize=(12, 4.5), width_ratios=(3, 2))
    days = [point.day[5:] for point in report.daily]  # MM-DD
    costs = [point.cost_usd for point in report.daily]
    daily.bar(days, costs, color="#4c78a8", label="per day")
    running = daily.twinx()
    running.plot(days, list(accumulate(costs)), color="#f58518", marker=".", label="running total")
    daily.set_title(f"Spend per day, {report.period} (USD)")
    daily.tick_params(axis="x", labelrotation=90, labelsize=7)
    running.set_ylabel("running total (USD)")
    spenders = [g for g in report.breakdowns.get("tenant", []) if g.cost_usd > 0][:top]
    tenants.barh([g.value or "(none)" for g in spenders][::-1], [g.cost_usd for g in spenders][::-1])
    tenants.set_title(f"Top tenants, {report.period} (USD)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
