"""The SQL-backed bookkeeping of ingestion, on SQLite and PostgreSQL: quarantined documents and runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from genai.ingest.records import QuarantineRecord
from genai.stores.quarantine import QuarantineStore
from genai.stores.runs import RunStore

WHEN = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


def entry(doc_id: str, run_id: str = "run-1", kb: str = "kb1", minutes: int = 0) -> QuarantineRecord:
    return QuarantineRecord(
        kb=kb,
        run_id=run_id,
        doc_id=doc_id,
        source=f"src/{doc_id}",
        check="expect_column_values_to_be_between",
        reason=f"{doc_id} has no text: it is empty or only whitespace",
        created_at=WHEN + timedelta(minutes=minutes),
    )


def test_added_records_list_back_oldest_first(database_url: str) -> None:
    store = QuarantineStore(database_url)
    late, early = entry("late.md", minutes=5), entry("early.md")
    store.add([late, early])
    store.add([])
    assert store.list() == [early, late]
    assert store.list(kb="kb1") == [early, late]
    assert store.list(kb="other") == []


def test_list_filters_by_kb_and_run(database_url: str) -> None:
    store = QuarantineStore(database_url)
    records = [
        entry("a.md"),
        entry("b.md", run_id="run-2", minutes=1),
        entry("a.md", "run-3", kb="kb2", minutes=2),
    ]
    store.add(records)
    assert store.list(run_id="run-1") == [records[0]]
    assert store.list(kb="kb1", run_id="run-2") == [records[1]]
    assert store.list(kb="kb2") == [records[2]]
    assert store.list(kb="kb2", run_id="run-2") == []


def test_the_same_document_may_be_quarantined_by_several_runs(database_url: str) -> None:
    store = QuarantineStore(database_url)
    store.add([entry("a.md", run_id="run-1"), entry("a.md", run_id="run-2", minutes=10)])
    assert [record.run_id for record in store.list(kb="kb1")] == ["run-1", "run-2"]


def test_clear_forgets_only_the_named_documents_of_one_kb(database_url: str) -> None:
    store = QuarantineStore(database_url)
    store.add([entry("a.md"), entry("a.md", run_id="run-2"), entry("b.md"), entry("a.md", kb="kb2")])
    assert store.clear("kb1", ["a.md", "never.md"]) == 2
    assert [(r.kb, r.doc_id) for r in store.list()] == [("kb1", "b.md"), ("kb2", "a.md")]
    assert store.clear("kb1", []) == 0


def test_latest_only_keeps_the_newest_run_of_each_kb(database_url: str) -> None:
    quarantine, runs = QuarantineStore(database_url), RunStore(database_url)
    runs.start_run("run-1", "kb1")
    quarantine.add([entry("old.md", run_id="run-1")])
    runs.start_run("run-2", "kb1")
    quarantine.add([entry("new.md", run_id="run-2", minutes=1)])
    # kb2's run was never logged: its newest quarantining run counts.
    quarantine.add(
        [entry("x.md", run_id="k2-a", kb="kb2"), entry("y.md", run_id="k2-b", kb="kb2", minutes=3)]
    )

    latest = quarantine.list(latest_only=True)
    assert [(r.kb, r.doc_id) for r in latest] == [("kb1", "new.md"), ("kb2", "y.md")]
    assert [r.doc_id for r in quarantine.list(kb="kb1", latest_only=True)] == ["new.md"]

    runs.start_run("run-3", "kb1")  # a clean run: nothing of kb1 is quarantined any more
    assert quarantine.list(kb="kb1", latest_only=True) == []


def test_runs_record_start_finish_and_summary(database_url: str) -> None:
    runs = RunStore(database_url)
    before = datetime.now(UTC)
    runs.start_run("run-1", "kb1")
    started = runs.get_run("run-1")
    assert started is not None
    assert (started.status, started.finished_at, started.summary) == ("running", None, None)
    assert started.started_at >= before - timedelta(seconds=1)

    summary = {"new": 3, "changed": 1, "quarantined": ["a.md"], "at": WHEN}
    runs.finish_run("run-1", "completed", summary)
    finished = runs.get_run("run-1")
    assert finished is not None and finished.finished_at is not None
    assert finished.status == "completed"
    assert finished.finished_at >= finished.started_at
    assert finished.summary == {"new": 3, "changed": 1, "quarantined": ["a.md"], "at": "2026-11-20T09:00:00Z"}


def test_last_runs_newest_first_per_kb(database_url: str) -> None:
    runs = RunStore(database_url)
    for run_id in ("r1", "r2", "r3"):
        runs.start_run(run_id, "kb1")
    runs.start_run("other", "kb2")
    runs.finish_run("r1", "failed", {"error": "boom"})
    assert [run.run_id for run in runs.last_runs("kb1", 2)] == ["r3", "r2"]
    assert [run.run_id for run in runs.last_runs("kb1", 10)] == ["r3", "r2", "r1"]
    assert runs.last_runs("kb1", 10)[2].status == "failed"
    assert [run.run_id for run in runs.last_runs("kb2", 10)] == ["other"]
    assert runs.last_runs("nothing", 5) == []


def test_restarting_a_run_resets_it(database_url: str) -> None:
    runs = RunStore(database_url)
    runs.start_run("r1", "kb1")
    runs.finish_run("r1", "failed", {"error": "lost connection"})
    runs.start_run("r1", "kb1")  # the flow run retried with the same id
    run = runs.get_run("r1")
    assert run is not None
    assert (run.status, run.finished_at, run.summary) == ("running", None, None)


def test_finishing_needs_a_started_run_and_a_final_status(database_url: str) -> None:
    runs = RunStore(database_url)
    with pytest.raises(LookupError):
        runs.finish_run("never-started", "completed", {})
    runs.start_run("r1", "kb1")
    with pytest.raises(ValueError):
        runs.finish_run("r1", "running", {})


def test_concurrent_writers_share_one_sqlite_file(sqlite_url: str) -> None:
    """Flow tasks in threads write runs and quarantine entries at once: they queue, none fails."""
    runs, quarantine = RunStore(sqlite_url), QuarantineStore(sqlite_url)

    def work(worker: int) -> None:
        for n in range(15):
            run_id = f"w{worker}-{n}"
            runs.start_run(run_id, f"kb{worker}")
            quarantine.add([entry(f"{run_id}.md", run_id=run_id, kb=f"kb{worker}")])
            runs.finish_run(run_id, "completed", {"n": n})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(4)))
    assert len(quarantine.list()) == 60
    assert all(run.status == "completed" for kb in range(4) for run in runs.last_runs(f"kb{kb}", 20))
