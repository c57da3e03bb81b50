"""The vector store on a real Qdrant (local mode, in the test's own folder)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from genai.ingest.records import Chunk
from genai.settings import QdrantSettings, Settings
from genai.stores.errors import KnowledgeBaseNotFoundError, TransientStoreError
from genai.stores.vectors import VectorPoint, VectorStore, point_id

DIM = 32


@pytest.fixture
def qdrant_path(tmp_path: Path) -> Path:
    return tmp_path / "qdrant"


@pytest.fixture
def store(qdrant_path: Path) -> Iterator[VectorStore]:
    opened = VectorStore(QdrantSettings(path=qdrant_path))
    yield opened
    opened.close()


def unit_vectors(count: int, seed: int = 7) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def points(
    doc_id: str, vectors: np.ndarray, doc_hash: str = "h1", version: str = "v1", **extras: Any
) -> list[VectorPoint]:
    """One point per vector: chunk n of ``doc_id`` gets row n."""
    payload = {
        "doc_hash": doc_hash,
        "pipeline_version": version,
        "source": f"src/{doc_id}",
        "title": f"Title {doc_id}",
        "type": "markdown",
        **extras,
    }
    return [
        (
            Chunk(
                doc_id=doc_id,
                chunk_no=n,
                text=f"{doc_id} {doc_hash} #{n}",
                start=n * 10,
                end=n * 10 + 9,
                token_count=3,
                heading_path=["H1", f"H2-{n}"],
            ),
            vector,
            payload,
        )
        for n, vector in enumerate(vectors)
    ]


def hashes_of(store: VectorStore, kb: str, doc_id: str) -> list[tuple[int, str]]:
    """(chunk_no, doc_hash) of every point of a document, read back through search."""
    hits = store.search(kb, unit_vectors(1, seed=99)[0], k=1000, filters={"doc_id": doc_id})
    return sorted((hit.chunk_no, hit.text.split()[1]) for hit in hits)


def test_point_ids_are_deterministic() -> None:
    assert point_id("docs/a.md", 0) == point_id("docs/a.md", 0)
    assert point_id("docs/a.md", 0) != point_id("docs/a.md", 1)
    assert point_id("docs/a.md", 1) != point_id("docs/a.m", 11)
    # Pinned: changing the namespace would orphan every stored point.
    assert point_id("docs/a.md", 0) == "04e2366e-b1d4-5d52-bdc5-aac47e3345e3"


def test_upserting_twice_does_not_duplicate(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    batch = points("a.md", unit_vectors(5))
    store.upsert("kb1", batch)
    store.upsert("kb1", batch)
    assert store.count("kb1") == 5


def test_delete_stale_keeps_only_the_new_version(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    store.upsert("kb1", points("a.md", unit_vectors(5), doc_hash="old"))
    store.upsert("kb1", points("b.md", unit_vectors(2), doc_hash="old"))
    store.upsert("kb1", points("a.md", unit_vectors(3, seed=8), doc_hash="new"))
    assert store.count("kb1") == 7  # chunks 3 and 4 of a.md's old version linger

    store.delete_stale("kb1", "a.md", keep_hash="new")
    assert hashes_of(store, "kb1", "a.md") == [(0, "new"), (1, "new"), (2, "new")]
    assert store.count("kb1") == 5  # b.md, with its own hash, is untouched
    store.delete_stale("kb1", "a.md", keep_hash="new")
    assert store.count("kb1") == 5


def test_delete_stale_on_a_pipeline_change_with_the_same_text(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    store.upsert("kb1", points("a.md", unit_vectors(4), version="v1"))
    store.upsert("kb1", points("a.md", unit_vectors(2), version="v2"))  # bigger chunks, fewer of them
    store.delete_stale("kb1", "a.md", keep_hash="h1")
    assert store.count("kb1") == 4  # the hash alone cannot tell the versions apart
    store.delete_stale("kb1", "a.md", keep_hash="h1", keep_pipeline_version="v2")
    assert store.count("kb1") == 2


def test_delete_documents(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    for doc_id in ("a.md", "b.md", "c.md"):
        store.upsert("kb1", points(doc_id, unit_vectors(2)))
    store.delete_documents("kb1", ["a.md", "c.md", "never.md"])
    store.delete_documents("kb1", [])
    assert store.count("kb1") == 2
    assert {hit.doc_id for hit in store.search("kb1", unit_vectors(1)[0], k=10)} == {"b.md"}


def test_search_returns_the_nearest_chunks_best_first(store: VectorStore) -> None:
    vectors = unit_vectors(60)
    store.ensure_collection("kb1", DIM)
    store.upsert("kb1", points("a.md", vectors[:30]) + points("b.md", vectors[30:]))

    query = vectors[42]
    hits = store.search("kb1", query, k=5)
    expected = np.argsort(-(vectors @ query))[:5]
    assert [(hit.doc_id, hit.chunk_no) for hit in hits] == [
        ("a.md" if i < 30 else "b.md", int(i % 30)) for i in expected
    ]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert [hit.score for hit in hits] == pytest.approx(
        [float(vectors[i] @ query) for i in expected], abs=1e-5
    )


def test_search_hits_carry_the_chunk_and_its_document(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    vectors = unit_vectors(3)
    store.upsert("kb1", points("docs/a.md", vectors, embedding_model="all-MiniLM-L6-v2"))
    hit = store.search("kb1", vectors[1].tolist(), k=1)[0]
    assert (hit.doc_id, hit.chunk_no, hit.text) == ("docs/a.md", 1, "docs/a.md h1 #1")
    assert (hit.source, hit.title, hit.heading_path) == ("src/docs/a.md", "Title docs/a.md", ["H1", "H2-1"])
    assert (hit.start, hit.end) == (10, 19)
    assert hit.citation == "src/docs/a.md#chunk-1"


def test_search_filters_on_payload_values_and_lists(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    store.upsert("kb1", points("a.md", unit_vectors(4)))
    store.upsert("kb1", points("b.html", unit_vectors(4, seed=1), type="html"))
    store.upsert("kb1", points("c.md", unit_vectors(4, seed=2)))
    query = unit_vectors(1, seed=3)[0]

    def found(filters: dict[str, Any]) -> set[tuple[str, int]]:
        return {(hit.doc_id, hit.chunk_no) for hit in store.search("kb1", query, k=100, filters=filters)}

    assert {doc for doc, _ in found({"type": "html"})} == {"b.html"}
    assert {doc for doc, _ in found({"doc_id": ["a.md", "c.md"]})} == {"a.md", "c.md"}
    assert found({"source": "src/c.md", "chunk_no": 2}) == {("c.md", 2)}
    assert found({"chunk_no": [0, 3], "type": "markdown"}) == {
        ("a.md", 0),
        ("a.md", 3),
        ("c.md", 0),
        ("c.md", 3),
    }
    assert found({"type": "pdf"}) == set()


def test_collections_per_knowledge_base(store: VectorStore) -> None:
    for kb in ("beta", "alpha"):
        store.ensure_collection(kb, DIM)
    store.upsert("alpha", points("a.md", unit_vectors(3)))
    assert store.count("beta") == 0
    assert store.knowledge_bases() == ["alpha", "beta"]
    assert store.exists("alpha") and not store.exists("gamma")
    assert store.collection_name("alpha") == "kb_alpha"
    assert store.drop("beta") is True
    assert store.drop("beta") is False
    assert store.knowledge_bases() == ["alpha"]


def test_ensure_collection_is_idempotent_and_guards_the_dimension(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    store.upsert("kb1", points("a.md", unit_vectors(2)))
    store.ensure_collection("kb1", DIM)
    assert store.count("kb1") == 2
    with pytest.raises(ValueError, match="embedding model changed"):
        store.ensure_collection("kb1", DIM * 2)


def test_an_unknown_knowledge_base(store: VectorStore) -> None:
    assert store.count("nope") == 0
    store.delete_documents("nope", ["a.md"])
    store.delete_stale("nope", "a.md", "h1")
    with pytest.raises(KnowledgeBaseNotFoundError):
        store.search("nope", unit_vectors(1)[0], k=3)


def test_points_must_say_which_document_version_they_are(store: VectorStore) -> None:
    store.ensure_collection("kb1", DIM)
    chunk, vector, payload = points("a.md", unit_vectors(1))[0]
    incomplete = {key: value for key, value in payload.items() if key != "doc_hash"}
    with pytest.raises(ValueError, match="doc_hash"):
        store.upsert("kb1", [(chunk, vector, incomplete)])


def test_one_local_client_per_folder_shared_and_released(qdrant_path: Path) -> None:
    first = VectorStore(QdrantSettings(path=qdrant_path))
    second = VectorStore(Settings(home=qdrant_path.parent, qdrant=QdrantSettings(path=qdrant_path)).qdrant)
    first.ensure_collection("kb1", DIM)
    first.upsert("kb1", points("a.md", unit_vectors(2)))
    assert second.count("kb1") == 2
    first.close()
    first.close()
    assert second.count("kb1") == 2  # still open: the shared client has a user left
    second.close()
    with pytest.raises(RuntimeError, match="closed"):
        second.count("kb1")

    from qdrant_client import QdrantClient

    # Closed by its last user, the folder is free again, even for a client that is not ours.
    other = QdrantClient(path=str(qdrant_path))
    assert other.count("kb_kb1").count == 2
    other.close()


def test_the_default_settings_keep_vectors_under_home(genai_home: Path) -> None:
    with VectorStore(Settings(home=genai_home).qdrant) as store:
        store.ensure_collection("kb1", DIM)
        store.upsert("kb1", points("a.md", unit_vectors(1)))
    assert (genai_home / "qdrant").is_dir()


def test_worker_threads_share_the_local_store(store: VectorStore) -> None:
    """Flow tasks run in threads; the local client must be usable from all of them at once."""
    store.ensure_collection("kb1", DIM)

    def write(n: int) -> int:
        store.upsert("kb1", points(f"doc-{n}.md", unit_vectors(5, seed=n)))
        store.delete_stale("kb1", f"doc-{n}.md", keep_hash="h1")
        return store.count("kb1")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(12)))
    assert store.count("kb1") == 60


def test_an_unreachable_server_is_a_transient_error() -> None:
    # The client also warns, from a background thread, that it could not check the server's version.
    store = VectorStore(QdrantSettings(url="http://127.0.0.1:1"), timeout=2)
    try:
        with pytest.raises(TransientStoreError):
            store.count("kb1")
        with pytest.raises(TransientStoreError):
            store.search("kb1", [0.0] * DIM, k=1)
    finally:
        store.close()


def test_a_local_folder_held_by_another_process_is_a_transient_error(qdrant_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from qdrant_client import QdrantClient; "
            "c = QdrantClient(path=sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(qdrant_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(TransientStoreError, match="in use by another process"):
            VectorStore(QdrantSettings(path=qdrant_path))
    finally:
        holder.kill()
        holder.wait()
    with VectorStore(QdrantSettings(path=qdrant_path)) as store:  # free again once the holder is gone
        assert store.count("kb1") == 0
