"""Prometheus series about ingestion, read from the run log and the quarantine table at scrape time.

Ingestion runs as Prefect flows that end: no process lives long enough to be scraped, and a counter kept
in a flow's memory would die with it. The database already holds what happened (each finished run's
summary, the open quarantine records), so the platform's exporter (`genai metrics`) turns those rows
into series whenever Prometheus asks. The counters are sums over finished runs, so they only grow while
the run log keeps its rows; a retried run replaces its own row, which can lower a sum once (Prometheus's
``increase`` treats that as a counter reset, not a negative rate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The summary counts exported per run outcome; ``seen`` = new + changed + unchanged + quarantined.
OUTCOMES = ("seen", "new", "changed", "unchanged", "deleted", "quarantined")


class IngestCollector(Collector):
    """Ingestion series from the platform database at ``url``; a failed read exports
    ``genai_ingest_database_up 0`` and nothing else, never a half-true picture."""

    def __init__(self, url: str) -> None:
        self._url = url

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "genai_ingest_database_up", "1 when the exporter read the run log and quarantine table."
        )
        try:
            runs, quarantined = _read(self._url)
        except Exception:  # whatever stops the read (driver, schema, lock) is reported as the series
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _run_families(runs)
        open_records = GaugeMetricFamily(
            "genai_ingest_quarantine_open_records",
            "Quarantine records not yet cleared by a later successful ingestion, by knowledge base.",
            labels=["kb"],
        )
        for kb, count in sorted(quarantined.items()):
            open_records.add_metric([kb], count)
        yield open_records


def _read(url: str) -> tuple[list[tuple[str, str, datetime, datetime | None, Any]], dict[str, int]]:
    """(kb, status, started, finished, summary) of every run, and open quarantine records per kb."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from genai.db import IngestRunRow, QuarantineRow, get_engine

    engine = get_engine(url)
    with Session(engine) as session:
        runs = session.execute(
            select(
                IngestRunRow.kb,
                IngestRunRow.status,
                IngestRunRow.started_at,
                IngestRunRow.finished_at,
                IngestRunRow.summary,
            )
        ).all()
        counts = session.execute(select(QuarantineRow.kb, func.count()).group_by(QuarantineRow.kb)).all()
    return [tuple(row) for row in runs], {kb: int(n) for kb, n in counts}


def _run_families(runs: list[tuple[str, str, datetime, datetime | None, Any]]) -> Iterator[Metric]:
    documents: dict[tuple[str, str], int] = defaultdict(int)
    statuses: dict[tuple[str, str], int] = defaultdict(int)
    last: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for kb, status, _started, finished, summary in runs:
        statuses[(kb, status)] += 1
        if finished is None or not isinstance(summary, dict):
            continue  # still running (or died without a summary): nothing to add yet
        for outcome in OUTCOMES:
            documents[(kb, outcome)] += _count(summary.get(outcome))
        if kb not in last or finished > last[kb][0]:
            last[kb] = (finished, summary)
    total = CounterMetricFamily(
        "genai_ingest_documents",
        "Documents of finished ingestion runs, by knowledge base and outcome (sum of run summaries).",
        labels=["kb", "outcome"],
    )
    for (kb, outcome), value in sorted(documents.items()):
        total.add_metric([kb, outcome], value)
    yield total
    by_status = GaugeMetricFamily(
        "genai_ingest_runs",
        "Ingestion runs in the run log, by knowledge base and status.",
        labels=["kb", "status"],
    )
    for (kb, status), value in sorted(statuses.items()):
        by_status.add_metric([kb, status], value)
    yield by_status
    yield from _last_run_families(last)


def _last_run_families(last: dict[str, tuple[datetime, dict[str, Any]]]) -> Iterator[Metric]:
    finished = GaugeMetricFamily(
        "genai_ingest_last_run_finished_timestamp_seconds",
        "When the newest finished ingestion run of the knowledge base ended (Unix seconds).",
        labels=["kb"],
    )
    ratio = GaugeMetricFamily(
        "genai_ingest_last_run_quarantine_ratio",
        "Quarantined / seen documents of the newest finished ingestion run (0 when it saw none).",
        labels=["kb"],
    )
    for kb, (at, summary) in sorted(last.items()):
        finished.add_metric([kb], _as_utc(at).timestamp())
        seen = _count(summary.get("seen"))
        ratio.add_metric([kb], _count(summary.get("quarantined")) / seen if seen else 0.0)
    yield finished
    yield ratio


def _count(value: object) -> int:
    """A summary count as an int; anything else (a summary from an older schema) counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; the run log writes UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
