"""The platform exporter's collectors on real stores: ingestion series from a real run log and quarantine
table (SQLite), flow-run series from a real Prefect server (the session's test server) with flows that
completed and failed, and what each reports when its source is away (a closed port, a database path that
cannot exist: real failures, no fakes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from genai.ingest.records import QuarantineRecord
from genai.orchestration.flow_metrics import FlowRunCollector
from genai.stores.ingest_metrics import IngestCollector
from genai.stores.quarantine import QuarantineStore
from genai.stores.runs import RunStore


def _samples(collector: object) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    values = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_ingest_series_sum_finished_runs_and_read_the_last_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'genai.db'}"
    runs = RunStore(url)
    runs.start_run("r1", "handbook")
    runs.finish_run("r1", "completed", {"seen": 10, "new": 10, "quarantined": 0})
    runs.start_run("r2", "handbook")
    runs.finish_run("r2", "completed", {"seen": 8, "new": 2, "unchanged": 4, "quarantined": 2})
    runs.start_run("r3", "wiki")  # still running: counted by status, adds no documents yet
    values = _samples(IngestCollector(url))
    assert values["genai_ingest_database_up"] == 1
    assert values['genai_ingest_documents_total{kb="handbook",outcome="seen"}'] == 18
    assert values['genai_ingest_documents_total{kb="handbook",outcome="quarantined"}'] == 2
    assert values['genai_ingest_last_run_quarantine_ratio{kb="handbook"}'] == pytest.approx(0.25)
    assert values['genai_ingest_runs{kb="handbook",status="completed"}'] == 2
    assert values['genai_ingest_runs{kb="wiki",status="running"}'] == 1
    assert not any('kb="wiki"' in name for name in values if "documents" in name or "last_run" in name)


def test_open_quarantine_records_are_counted_per_knowledge_base(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'genai.db'}"
    RunStore(url)  # the schema
    store = QuarantineStore(url)
    first = QuarantineRecord(
        kb="wiki",
        run_id="r1",
        doc_id="a.md",
        source="/docs/a.md",
        check="size_bytes",
        reason="the file is empty",
        created_at=datetime.now(UTC),
    )
    store.add([first, first.model_copy(update={"doc_id": "b.md"})])
    assert _samples(IngestCollector(url))['genai_ingest_quarantine_open_records{kb="wiki"}'] == 2
    store.clear("wiki", ["a.md"])
    assert _samples(IngestCollector(url))['genai_ingest_quarantine_open_records{kb="wiki"}'] == 1


def test_an_unreadable_database_reports_down_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    values = _samples(IngestCollector(f"sqlite:///{tmp_path / 'file' / 'genai.db'}"))
    assert values == {"genai_ingest_database_up": 0.0}


def test_prefect_unreachable_reports_down_and_nothing_else() -> None:
    values = _samples(FlowRunCollector("http://127.0.0.1:9/api", timeout=0.5))  # port 9: nothing listens
    assert values == {"genai_prefect_api_up": 0.0}


def test_flow_runs_of_a_real_prefect_server_by_flow_and_state(prefect_api_url: str) -> None:
    from prefect import flow

    @flow(name="observability-probe")
    def probe(fail: bool) -> int:
        if fail:
            raise RuntimeError("this run is meant to fail")
        return 1

    probe(False)
    probe(False)
    with pytest.raises(RuntimeError):
        probe(True)
    values = _samples(FlowRunCollector(prefect_api_url))
    assert values["genai_prefect_api_up"] == 1
    assert values['genai_prefect_flow_runs{flow="observability-probe",state="COMPLETED"}'] >= 2
    assert values['genai_prefect_flow_runs{flow="observability-probe",state="FAILED"}'] >= 1
    assert values['genai_prefect_flow_run_last_seconds{flow="observability-probe"}'] >= 0
    assert values["genai_prefect_flow_runs_truncated"] == 0
