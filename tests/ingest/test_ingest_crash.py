"""Crash safety: a run killed in the middle and run again ends with no duplicate and no missing chunk.

One test kills a real `genai ingest` process with SIGKILL while it writes; the others stop a run at an
exact point between the two stores' writes (a fault injected on purpose: that is what they are about).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.ingest import ingest
from genai.settings import Settings, get_settings
from tests.fixtures.documents import BUSINESS_WORDS
from tests.fixtures.ingest import assert_consistent

pytestmark = pytest.mark.usefixtures("prefect_api_url")

WORDS = BUSINESS_WORDS


def write_corpus(root: Path, documents: int, paragraphs: int = 3) -> None:
    """Short markdown files (a chunk or two each at 64-token chunks), every one different."""
    root.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        body = "\n\n".join(
            " ".join(f"{WORDS[(n * 7 + p * 3 + i) % len(WORDS)]}{n}" for i in range(20)) + "."
            for p in range(paragraphs)
        )
        (root / f"doc-{n:03d}.md").write_text(f"# Document {n}\n\n{body}\n", encoding="utf-8")


class CrashAfter(Exception):
    """Stands in for a process dying at an exact point."""


def crash_on_call(monkeypatch: pytest.MonkeyPatch, target: object, name: str, call: int) -> None:
    """Make ``target.name`` raise on its ``call``-th invocation; earlier calls go through."""
    original = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == call:
            raise CrashAfter(f"{name} call {call}")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)


@pytest.fixture
def small_windows(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GENAI_INGEST__WINDOW_CHUNKS", "8")
    monkeypatch.setenv("GENAI_CHUNKING__CHUNK_TOKENS", "64")
    monkeypatch.setenv("GENAI_CHUNKING__OVERLAP_TOKENS", "8")
    monkeypatch.setenv("GENAI_INGEST__BATCH_DOCUMENTS", "10")
    get_settings.cache_clear()
    return get_settings()


@pytest.mark.parametrize("crash_point", ["replace_documents", "upsert", "delete_stale_many"])
def test_fault_run_stopped_between_store_writes_then_rerun_is_consistent(
    small_windows: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_point: str
) -> None:
    from genai.stores.documents_sql import SqlDocumentStore
    from genai.stores.vectors import VectorStore

    source = tmp_path / "corpus"
    write_corpus(source, 30)
    ingest(source=str(source), knowledge_base="crash")
    for n in range(0, 30, 3):  # change a third of the documents, so the crashed run replaces some
        path = source / f"doc-{n:03d}.md"
        path.write_text(path.read_text() + "\nAddendum paragraph about freight tariffs.\n")
    target = SqlDocumentStore if crash_point == "replace_documents" else VectorStore
    with monkeypatch.context() as patch:
        crash_on_call(patch, target, crash_point, 2)
        with pytest.raises(CrashAfter):
            ingest(source=str(source), knowledge_base="crash")

    rerun = ingest(source=str(source), knowledge_base="crash")

    view = assert_consistent(small_windows, "crash")
    assert len(view.documents) == 30
    assert rerun.changed + rerun.new >= 1
    fresh = ingest(source=str(source), knowledge_base="fresh")
    assert rerun.total_chunks == fresh.total_chunks
    assert {d: c for d, (_, c) in view.documents.items()} == {
        d: c for d, (_, c) in assert_consistent(small_windows, "fresh").documents.items()
    }


def test_fault_new_documents_crashed_then_removed_leave_no_stray_vectors(
    small_windows: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genai.stores.documents_sql import SqlDocumentStore

    source = tmp_path / "corpus"
    write_corpus(source, 12)
    with monkeypatch.context() as patch:
        crash_on_call(patch, SqlDocumentStore, "replace_documents", 1)
        with pytest.raises(CrashAfter):
            ingest(source=str(source), knowledge_base="strays")
    for path in sorted(source.glob("*.md"))[:6]:
        path.unlink()

    summary = ingest(source=str(source), knowledge_base="strays")

    assert summary.repaired > 0
    assert len(assert_consistent(small_windows, "strays").documents) == 6


def _documents_written(database: Path, kb: str) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("select count(*) from documents where kb = ?", (kb,)).fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_killed_ingest_process_then_rerun_has_no_duplicate_and_no_missing_chunk(
    small_windows: Settings, tmp_path: Path, prefect_api_url: str
) -> None:
    source = tmp_path / "corpus"
    write_corpus(source, 80)
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url}
    command = [sys.executable, "-m", "genai.cli.main", "ingest", str(source), "--kb", "killed", "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    database = small_windows.home / "genai.db"
    deadline = time.monotonic() + 240
    while _documents_written(database, "killed") < 5:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before_kill = _documents_written(database, "killed")
    assert 0 < written_before_kill < 80

    rerun = ingest(source=str(source), knowledge_base="killed")

    assert rerun.unchanged >= written_before_kill
    assert rerun.unchanged + rerun.new == 80
    view = assert_consistent(small_windows, "killed")
    assert len(view.documents) == 80
