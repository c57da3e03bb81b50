"""Draw the Grafana dashboards as PNGs from a real Prometheus, where no Grafana is at hand.

    .venv/bin/python deployments/observability/render.py --prometheus http://127.0.0.1:9090 \
        --start UNIX --end UNIX --out docs/observability

This is not Grafana: it reads each dashboard's JSON (grafana/dashboards/*.json, what Grafana provisioning
loads), runs every panel's PromQL against Prometheus's HTTP API over the window, and plots the answers
with matplotlib on the panels' own grid: a line per series for a time series, the values at the window's
end (an instant query, as the stat panels ask) as text for a stat. Grafana's ``$__rate_interval`` becomes
1m and ``$__range`` the window, as Grafana would for a 5 s scrape over a short run.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "grafana" / "dashboards"
RATE_INTERVAL = "1m"
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def grafana_expr(expr: str, range_seconds: float) -> str:
    """The expression with Grafana's variables replaced as this renderer (and the local run) use them."""
    return expr.replace("$__rate_interval", RATE_INTERVAL).replace(
        "$__range", f"{max(60, int(range_seconds))}s"
    )


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend template ({{label}}) filled from a series' labels; the labels when empty."""
    if not template:
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or "value"
    return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template)


def query_panel(
    client: httpx.Client, panel: dict[str, Any], start: float, end: float
) -> list[tuple[str, list[float], list[float]]]:
    """(legend, times, values) for every series of every query of the panel."""
    step = max(5, int((end - start) / 120))
    lines = []
    for target in panel["targets"]:
        expr = grafana_expr(target["expr"], end - start)
        name = target.get("legendFormat", "")
        if target.get("instant"):  # a stat: the value at the end of the window, as Grafana asks it
            answer = client.get("/api/v1/query", params={"query": expr, "time": end}).json()
            for series in answer["data"]["result"]:
                lines.append((legend(name, series["metric"]), [end - start], [float(series["value"][1])]))
            continue
        params = {"query": expr, "start": start, "end": end, "step": step}
        result = client.get("/api/v1/query_range", params=params).json()
        if result.get("status") != "success":
            raise RuntimeError(f"{panel['title']}: {target['expr']}: {result.get('error')}")
        for series in result["data"]["result"]:
            times = [float(t) - start for t, _ in series["values"]]
            values = [float(v) for _, v in series["values"]]
            lines.append((legend(name, series["metric"]), times, values))
    return lines


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value) or math.isinf(value):
        return "n/a"
    if unit == "percentunit":
        return f"{value:.1%}"
    if unit == "currencyUSD":
        return f"${value:,.4f}"
    if unit == "s":
        return f"{value:.3g} s"
    return f"{value:,.3g}"


def draw_panel(ax: Any, panel: dict[str, Any], lines: list[tuple[str, list[float], list[float]]]) -> None:
    unit = panel["fieldConfig"]["defaults"].get("unit", "short")
    ax.set_title(panel["title"], fontsize=9, loc="left")
    if not lines:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", color="grey", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    if panel["type"] == "stat":
        ax.axis("off")
        shown = lines[:6]
        for i, (name, _times, values) in enumerate(shown):
            y = 1 - (i + 1) / (len(shown) + 1)
            ax.text(0.05, y, name, fontsize=8, va="center", transform=ax.transAxes)
            ax.text(
                0.95,
                y,
                _fmt(values[-1], unit),
                fontsize=13,
                ha="right",
                va="center",
                weight="bold",
                transform=ax.transAxes,
            )
        return
    for name, times, values in lines[:12]:
        ax.plot([t / 60 for t in times], values, label=name[:40], linewidth=1.2)
    ax.set_xlabel("minutes into the run", fontsize=7)
    ax.tick_params(labelsize=7)
    if unit == "percentunit":
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left", framealpha=0.6)


def render(dashboard: dict[str, Any], client: httpx.Client, start: float, end: float, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    height = rows * 0.42 + 1
    figure = plt.figure(figsize=(18, height))
    grid = GridSpec(
        rows, 24, figure=figure, hspace=4.5, wspace=1.2, top=1 - 0.8 / height, bottom=0.3 / height
    )
    for panel in panels:
        pos = panel["gridPos"]
        ax = figure.add_subplot(grid[pos["y"] : pos["y"] + pos["h"] - 1, pos["x"] : pos["x"] + pos["w"]])
        draw_panel(ax, panel, query_panel(client, panel, start, end))
    figure.suptitle(
        f"{dashboard['title']} (rendered by deployments/observability/render.py from the dashboard JSON and "
        f"a real Prometheus; not Grafana)",
        fontsize=11,
        y=1 - 0.25 / height,
    )
    path = out / f"{dashboard['uid'].removeprefix('genai-')}.png"
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="Render the dashboards from a Prometheus as PNGs.")
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--start", type=float, required=True, help="Unix seconds.")
    parser.add_argument("--end", type=float, required=True, help="Unix seconds.")
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "docs" / "observability")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=args.prometheus, timeout=30.0) as client:
        for path in sorted(DASHBOARDS.glob("*.json")):
            print(f"wrote {render(json.loads(path.read_text()), client, args.start, args.end, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
