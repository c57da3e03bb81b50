"""The three dashboards as short panel lists: build.py turns them into the Grafana JSON that
provisioning loads (grafana/dashboards/*.json), and tests/observability checks that every query names only
metrics the platform, vLLM and Prefect export. Edit here, then run
`.venv/bin/python deployments/observability/grafana/build.py`; a test fails while the JSON and these
files disagree."""

from __future__ import annotations

from panels.flows import FLOWS
from panels.gateway import GATEWAY
from panels.model import Dashboard, Panel
from panels.vllm import VLLM

DASHBOARDS: tuple[Dashboard, ...] = (GATEWAY, VLLM, FLOWS)

__all__ = ["DASHBOARDS", "Dashboard", "Panel"]
