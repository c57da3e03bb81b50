"""Write the Grafana dashboards (grafana/dashboards/*.json) from the panel lists in panels/.

    .venv/bin/python deployments/observability/grafana/build.py          # write the JSON
    .venv/bin/python deployments/observability/grafana/build.py --check  # exit 1 if the JSON is stale

Panels are laid out left to right in rows of Grafana's 24 columns, 8 units high. Every query names the
datasource by the uid that provisioning/datasources/prometheus.yml gives it, so the dashboards load on any
Grafana provisioned from this folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from panels import DASHBOARDS, Dashboard, Panel  # noqa: E402 - the panel lists sit next to this script

DATASOURCE = {"type": "prometheus", "uid": "genai-prometheus"}
OUT = HERE / "dashboards"
HEIGHT = 8


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    """One Grafana panel with its queries, unit and place on the grid."""
    custom: dict[str, Any] = {"lineWidth": 1, "fillOpacity": 20 if panel.stack else 0}
    if panel.stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": HEIGHT, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit, "custom": custom}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
                # A stat shows the value now: an instant query, so a series that ended earlier in the
                # range (a run no longer "running") is not shown with its last value.
                "instant": panel.kind == "stat",
                "range": panel.kind != "stat",
            }
            for i, (expr, legend) in enumerate(panel.queries)
        ],
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    """The whole dashboard as Grafana's JSON model (schema 39: Grafana 10 and later)."""
    panels, x, y = [], 0, 0
    for panel_id, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y = 0, y + HEIGHT
        panels.append(panel_json(panel, panel_id, x, y))
        x += panel.width
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["genai"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def rendered() -> dict[Path, str]:
    """Each dashboard's file and its JSON text, as build.py writes it."""
    return {
        OUT / f"{d.uid.removeprefix('genai-')}.json": json.dumps(dashboard_json(d), indent=2) + "\n"
        for d in DASHBOARDS
    }


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        stale = [str(path) for path, text in files.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"stale: {path} (run build.py)", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
