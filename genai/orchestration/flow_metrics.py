"""Prometheus series about the platform's flow runs, asked of the Prefect server's REST API at scrape time.

Prefect's own ``/api/metrics`` (``PREFECT_SERVER_METRICS_ENABLED``) counts the server's plumbing (events,
log and worker websockets), not flow runs by state, and a flow process ends before anyone scrapes it. So
the platform's exporter (`genai metrics`) asks the server, whenever Prometheus scrapes, for the runs that
were due in the last ``window`` and counts them by flow and state type. The series are gauges over a
sliding window, not counters: "how many runs of ingest failed in the last 24 h" is what a person asks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Prefect answers at most this many runs per filter call (its default page size): the exporter reads one
# page, newest first, and says so in genai_prefect_flow_runs_truncated rather than paging on every scrape.
_PAGE = 200
_FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class FlowRunCollector(Collector):
    """Flow runs of the Prefect server at ``api_url`` (``http://host:port/api``) due in the last
    ``window``."""

    def __init__(self, api_url: str, window: timedelta = timedelta(hours=24), timeout: float = 3.0) -> None:
        self._api = api_url.rstrip("/")
        self._window = window
        self._timeout = timeout

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "genai_prefect_api_up", "1 when the exporter read flow runs from Prefect's API."
        )
        try:
            runs, names = self._read()
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _families(runs, names, self._window)

    def _read(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        since = datetime.now(UTC) - self._window
        with httpx.Client(base_url=self._api, timeout=self._timeout) as client:
            response = client.post(
                "/flow_runs/filter",
                json={
                    "flow_runs": {"expected_start_time": {"after_": since.isoformat()}},
                    "sort": "EXPECTED_START_TIME_DESC",
                    "limit": _PAGE,
                },
            )
            response.raise_for_status()
            runs: list[dict[str, Any]] = response.json()
            flow_ids = sorted({run["flow_id"] for run in runs})
            names: dict[str, str] = {}
            if flow_ids:
                flows = client.post("/flows/filter", json={"flows": {"id": {"any_": flow_ids}}})
                flows.raise_for_status()
                names = {flow["id"]: flow["name"] for flow in flows.json()}
        return runs, names


def _families(runs: list[dict[str, Any]], names: dict[str, str], window: timedelta) -> Iterator[Metric]:
    hours = f"{window.total_seconds() / 3600:g}"
    counts: dict[tuple[str, str], int] = defaultdict(int)
    last_seconds: dict[str, float] = {}
    for run in runs:  # newest first: the first final run seen of a flow is its latest
        flow = names.get(run["flow_id"], "unknown")
        state = str(run.get("state_type") or "UNKNOWN")
        counts[(flow, state)] += 1
        if state in _FINAL_STATES and flow not in last_seconds:
            last_seconds[flow] = float(run.get("total_run_time") or 0.0)
    by_state = GaugeMetricFamily(
        "genai_prefect_flow_runs",
        f"Flow runs due in the last {hours} h, by flow and state type (SCHEDULED, RUNNING, FAILED...).",
        labels=["flow", "state"],
    )
    for (flow, state), value in sorted(counts.items()):
        by_state.add_metric([flow, state], value)
    yield by_state
    duration = GaugeMetricFamily(
        "genai_prefect_flow_run_last_seconds",
        f"Run time of the newest finished run of each flow (of those due in the last {hours} h).",
        labels=["flow"],
    )
    for flow, seconds in sorted(last_seconds.items()):
        duration.add_metric([flow], seconds)
    yield duration
    truncated = GaugeMetricFamily(
        "genai_prefect_flow_runs_truncated",
        f"1 when more than {_PAGE} runs were due in the window and only the newest {_PAGE} are counted.",
    )
    truncated.add_metric([], 1 if len(runs) >= _PAGE else 0)
    yield truncated
