"""Sharded ingestion on a real process work pool with two workers (the platform's `prefect worker start`),
deployed from deployments/prefect.yaml: the shards run in parallel as sub-flow runs of the parent and end
with the same documents, chunks, point ids and vectors as one run over the same source; a shard killed
with SIGKILL while it writes, then the parent run again, leaves no duplicate and nothing missing.

Qdrant is the embedded default (local mode): the shards take turns at the folder under its file lock.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from genai.ingest.shards import shard_of
from genai.ingest.summary import IngestSummary
from genai.settings import Settings, get_settings
from tests.fixtures.documents import BUSINESS_WORDS
from tests.fixtures.ingest import assert_consistent

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")  # the platform venv's CLI
POOL = "genai-process"  # the pool deployments/prefect.yaml names
WORDS = BUSINESS_WORDS[:12]
DOCUMENTS = 40
SMALL_WINDOWS = {
    "GENAI_INGEST__WINDOW_CHUNKS": "4",
    "GENAI_INGEST__BATCH_DOCUMENTS": "10",
    "GENAI_CHUNKING__CHUNK_TOKENS": "64",
    "GENAI_CHUNKING__OVERLAP_TOKENS": "8",
}


def write_corpus(root: Path, documents: int) -> None:
    """Short markdown files, a chunk or two each at 64-token chunks, every one different."""
    root.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        body = "\n\n".join(
            " ".join(f"{WORDS[(n * 5 + p * 3 + i) % len(WORDS)]}{n}" for i in range(12)) + "."
            for p in range(2)
        )
        (root / f"doc-{n:03d}.md").write_text(f"# Document {n}\n\n{body}\n", encoding="utf-8")


@dataclass
class Pool:
    """The module's process work pool: settings shared by the test and the workers, the API, the corpus."""

    settings: Settings
    api: str
    source: Path


def _api(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    for attempt in range(6):  # 503: the test server's SQLite was busy; Prefect's client retries too
        response = httpx.request(method, f"{base}{path}", json=body, timeout=10)
        if response.status_code != 503:
            break
        time.sleep(0.5 * 2**attempt)
    response.raise_for_status()
    return response.json()


def _shard_runs(base: str, kb: str) -> list[dict[str, Any]]:
    return list(_api(base, "POST", "/flow_runs/filter", {"flow_runs": {"name": {"like_": f"{kb}-shard-"}}}))


@pytest.fixture(scope="module")
def pool(prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """Deploy ingest/ingest from deployments/prefect.yaml and start two process workers on its pool."""
    home = tmp_path_factory.mktemp("sharded-home")
    source = tmp_path_factory.mktemp("sharded-corpus") / "corpus"
    write_corpus(source, DOCUMENTS)
    logs = tmp_path_factory.mktemp("sharded-workers")
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "GENAI_HOME": str(home), **SMALL_WINDOWS}
    env.update(GENAI_PROJECT_DIR=str(REPO), GENAI_IMAGE="genai:test", PREFECT_WORKER_QUERY_SECONDS="1")
    for args in (
        ["work-pool", "create", POOL, "--type", "process", "--overwrite"],
        ["--no-prompt", "deploy", "--name", "ingest", "--prefect-file", "deployments/prefect.yaml"],
    ):
        done = subprocess.run(
            [PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stdout + done.stderr
    workers = []
    for n in (1, 2):
        # --limit 1: each worker runs one shard at a time, so two shards need both workers.
        command = [PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1"]
        log = (logs / f"worker-{n}.log").open("w")
        workers.append(
            subprocess.Popen(
                [*command, "--name", f"shard-worker-{n}"],
                env=env,
                cwd=logs,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its flow-run processes share its group: one killpg ends all
            )
        )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"GENAI_HOME": str(home), **SMALL_WINDOWS}.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield Pool(get_settings(), prefect_api_url, source)
        finally:
            get_settings.cache_clear()
            for worker in workers:
                os.killpg(worker.pid, signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()


@dataclass
class Contents:
    chunks: dict[str, list[str]]  # doc_id -> chunk texts in order
    vectors: dict[str, np.ndarray]  # point id -> vector


def contents(settings: Settings, kb: str) -> Contents:
    """Everything both stores hold for the knowledge base, read straight from them."""
    from genai.ingest.stores import IngestStores
    from genai.stores.vectors_local import open_local_client

    with IngestStores.open(settings, parallel_writers=True) as stores:
        chunks = {
            record.doc_id: [chunk.text for chunk in stores.documents.get_chunks(kb, record.doc_id)]
            for record in stores.documents.list_documents(kb)
        }
    assert settings.qdrant.path is not None
    client = open_local_client(settings.qdrant.path)
    try:
        points, offset, vectors = None, None, {}
        while points is None or offset is not None:
            points, offset = client.scroll(f"kb_{kb}", limit=512, offset=offset, with_vectors=True)
            vectors.update({str(point.id): _vector(point.vector) for point in points})
    finally:
        client.close()
    return Contents(chunks, vectors)


def _vector(value: Any) -> np.ndarray:
    """A point's vectors as one array: the dense one, and a sparse one's indices and values after it."""
    if not isinstance(value, dict):
        return np.asarray(value, dtype=np.float64)
    parts = []
    for name in sorted(value):  # named vectors: "dense", and "sparse" where the knowledge base has it
        vector = value[name]
        if hasattr(vector, "indices"):
            order = np.argsort(vector.indices)
            parts += [np.asarray(vector.indices)[order], np.asarray(vector.values)[order]]
        else:
            parts.append(np.asarray(vector))
    return np.concatenate([np.asarray(part, dtype=np.float64) for part in parts])


def assert_same(actual: Contents, expected: Contents) -> None:
    assert sorted(actual.chunks) == sorted(expected.chunks)  # document ids
    assert actual.chunks == expected.chunks  # chunk texts, in order
    assert sorted(actual.vectors) == sorted(expected.vectors)  # point ids
    for point, vector in expected.vectors.items():
        # Batches differ between one run and two shards: the same text may differ in the last bits.
        np.testing.assert_allclose(actual.vectors[point], vector, atol=1e-5, err_msg=point)


@dataclass
class SingleRun:
    summary: IngestSummary
    contents: Contents


@pytest.fixture(scope="module")
def single_run(pool: Pool) -> SingleRun:
    """The reference: one ordinary run over the whole source, in this process."""
    from flows.ingest import ingest

    summary = ingest(source=str(pool.source), knowledge_base="single")
    return SingleRun(summary, contents(pool.settings, "single"))


@pytest.mark.slow
def test_two_shards_on_two_process_workers_give_the_same_chunks_and_vectors_as_one_run(
    pool: Pool, single_run: SingleRun
) -> None:
    from flows.ingest_sharded import ingest_sharded

    started, single = time.monotonic(), single_run.summary
    summary = ingest_sharded(source=str(pool.source), knowledge_base="parallel", shards=2)

    assert summary.finalized and [shard.state for shard in summary.shards] == ["COMPLETED", "COMPLETED"]
    assert [shard.documents for shard in summary.shards] == [
        sum(shard_of(f"doc-{n:03d}.md", 2) == i for n in range(DOCUMENTS)) for i in (0, 1)
    ]
    assert summary.total("new") == single.new == DOCUMENTS
    assert summary.total_chunks == single.total_chunks
    runs = _shard_runs(pool.api, "parallel")
    assert len(runs) == 2 and all(run["parent_task_run_id"] for run in runs)  # sub-flow runs of the parent
    assert max(run["start_time"] for run in runs) < min(run["end_time"] for run in runs), "not in parallel"
    assert_consistent(pool.settings, "parallel")
    assert_same(contents(pool.settings, "parallel"), single_run.contents)
    wanted = {"ingest-parallel-sharded-summary", "ingest-parallel-shards", "ingest-parallel-1-of-2-summary"}
    # Asked by key: the session's Prefect server holds every test's artifacts, past one page of a filter.
    by_key = {"artifacts": {"key": {"any_": sorted(wanted)}}}
    assert {artifact["key"] for artifact in _api(pool.api, "POST", "/artifacts/filter", by_key)} == wanted
    print(f"sharded run and checks: {time.monotonic() - started:.1f} s")


def _written(database: Path, kb: str) -> list[str]:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return [row[0] for row in connection.execute("select doc_id from documents where kb = ?", (kb,))]
    except sqlite3.Error:
        return []


def _kill_a_shard_while_it_writes(pool: Pool, kb: str, deadline: float) -> tuple[int, int]:
    """SIGKILL the process of the first shard seen with some but not all of its documents written; returns
    (shard index, documents of that shard written when it died)."""
    sizes = [sum(shard_of(f"doc-{n:03d}.md", 2) == i for n in range(DOCUMENTS)) for i in (0, 1)]
    database = pool.settings.home / "genai.db"
    while time.monotonic() < deadline:
        written = _written(database, kb)
        for index in (0, 1):
            done = sum(shard_of(doc_id, 2) == index for doc_id in written)
            if not 2 <= done < sizes[index] - 2:
                continue
            (run,) = [r for r in _shard_runs(pool.api, kb) if r["name"].endswith(f"-{index + 1}-of-2")]
            if run["state_type"] != "RUNNING" or not run["infrastructure_pid"]:
                continue
            pid = int(run["infrastructure_pid"])
            assert "prefect" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            os.kill(pid, signal.SIGKILL)
            return index, sum(shard_of(doc_id, 2) == index for doc_id in _written(database, kb))
        time.sleep(0.02)
    raise AssertionError("no shard was seen half-way through its writes")


@pytest.mark.slow
def test_a_shard_killed_while_writing_then_the_parent_run_again_leaves_no_duplicate_and_nothing_missing(
    pool: Pool, single_run: SingleRun
) -> None:
    from flows.ingest_sharded import ingest_sharded
    from genai.stores.vectors import point_id

    started = time.monotonic()
    failures: list[BaseException] = []

    def parent() -> None:
        try:
            ingest_sharded(source=str(pool.source), knowledge_base="killed", shards=2)
        except BaseException as error:
            failures.append(error)

    first = threading.Thread(target=parent)
    first.start()
    killed, written = _kill_a_shard_while_it_writes(pool, "killed", time.monotonic() + 240)
    first.join(timeout=240)

    assert not first.is_alive() and failures and "not completed" in str(failures[0])
    states = {run["name"][-6:]: run["state_type"] for run in _shard_runs(pool.api, "killed")}
    assert states[f"{killed + 1}-of-2"] == "CRASHED", states
    assert written < sum(shard_of(f"doc-{n:03d}.md", 2) == killed for n in range(DOCUMENTS))
    # A document gone before the re-run: only the parent, seeing the whole source, may delete it.
    stored_before = "doc-000.md" in _written(pool.settings.home / "genai.db", "killed")
    (pool.source / "doc-000.md").unlink()

    rerun = ingest_sharded(source=str(pool.source), knowledge_base="killed", shards=2)

    assert rerun.finalized and rerun.total("unchanged") >= written
    assert rerun.deleted == int(stored_before)
    view = assert_consistent(pool.settings, "killed")
    assert len(view.documents) == DOCUMENTS - 1
    gone = single_run.contents.chunks["doc-000.md"]
    expected = Contents(
        {doc_id: texts for doc_id, texts in single_run.contents.chunks.items() if doc_id != "doc-000.md"},
        {
            point: vector
            for point, vector in single_run.contents.vectors.items()
            if point not in {point_id("doc-000.md", n) for n in range(len(gone))}
        },
    )
    assert_same(contents(pool.settings, "killed"), expected)
    print(f"killed shard and re-run: {time.monotonic() - started:.1f} s")
