"""The in-memory index of local mode (``genai.stores.vectors_index``) ranks exactly as Qdrant's local mode.

Every comparison runs the same search twice on one real local-mode folder: through a store with
``qdrant.local_index`` on (the index answers) and one with it off (Qdrant's local engine answers). The
chunks are real text (this repository's docs and sources in windows, BM25 vectors as ingestion makes them)
with seeded random unit dense vectors; the queries are word runs picked from the same text.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from genai.ingest.records import Chunk, ScoredChunk
from genai.retrieval.sparse import document_vector, query_vector
from genai.settings import QdrantSettings
from genai.stores.vectors import VectorPoint, VectorStore
from genai.stores.vectors_hybrid import SparseTerms

DIM = 48
KB = "indexed"
WINDOW = 60
ROOT = Path(__file__).resolve().parents[2]


def windows(count: int) -> list[str]:
    """``count`` windows of WINDOW words of the repository's docs and sources, in a fixed order."""
    files = sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("genai/**/*.py")])
    words = [word for path in files for word in path.read_text(encoding="utf-8").split()]
    found = [" ".join(words[i : i + WINDOW]) for i in range(0, len(words) - WINDOW, WINDOW)]
    assert len(found) >= count, f"only {len(found)} windows of text"
    return found[:count]


def random_vector(seed: int) -> list[float]:
    return [float(x) for x in np.random.default_rng(seed).normal(size=DIM)]


ONES = [1.0] * DIM


def chunk_points(texts: Sequence[str], seed: int, prefix: str = "doc") -> list[VectorPoint]:
    rows = np.random.default_rng(seed).normal(size=(len(texts), DIM)).astype(np.float32)
    return [
        (
            Chunk(
                doc_id=f"{prefix}-{n // 4}", chunk_no=n % 4, text=text, start=0, end=len(text), token_count=1
            ),
            rows[n],
            {"doc_hash": "h", "pipeline_version": "v", "source": f"src/{n // 4}", "title": "t", "type": "md"},
        )
        for n, text in enumerate(texts)
    ]


def write(store: VectorStore, texts: Sequence[str], seed: int, prefix: str = "doc") -> None:
    sparse = [document_vector(text) for text in texts]
    store.upsert(KB, chunk_points(texts, seed, prefix), sparse)


def word_runs(texts: Sequence[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    runs = []
    for _ in range(count):
        words = rng.choice(texts).split()
        start = rng.randrange(len(words) - 3)
        runs.append(" ".join(words[start : start + rng.choice((1, 2, 3))]))
    return runs


def assert_same_ranking(indexed: list[ScoredChunk], qdrant: list[ScoredChunk]) -> None:
    """Same scores in the same order; the same chunks wherever a score is not tied with a neighbour (tied
    chunks may come in either order). ``qdrant`` was asked for one more hit, to see a tie at the cut."""
    assert len(indexed) in (len(qdrant), len(qdrant) - 1)
    scores = [hit.score for hit in qdrant]
    assert [hit.score for hit in indexed] == pytest.approx(scores[: len(indexed)], rel=1e-4, abs=1e-6)
    for i, (mine, theirs) in enumerate(zip(indexed, qdrant, strict=False)):
        neighbours = [scores[j] for j in (i - 1, i + 1) if 0 <= j < len(scores)]
        if all(abs(scores[i] - other) > 1e-5 * max(1.0, abs(scores[i])) for other in neighbours):
            assert (mine.doc_id, mine.chunk_no, mine.text) == (theirs.doc_id, theirs.chunk_no, theirs.text)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[VectorStore, VectorStore]]:
    """(index on, index off) on one folder: they share local mode's one client."""
    indexed = VectorStore(QdrantSettings(path=tmp_path / "qdrant"))
    plain = VectorStore(QdrantSettings(path=tmp_path / "qdrant", local_index=False))
    indexed.ensure_collection(KB, DIM, sparse=True)
    yield indexed, plain
    indexed.close()
    plain.close()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return windows(900)


def compare(indexed: VectorStore, plain: VectorStore, queries: Sequence[str], k: int = 10) -> int:
    """Compare dense and sparse searches of each query; returns how many sparse searches found something."""
    found = 0
    for n, query in enumerate(queries):
        vector = random_vector(1000 + n)
        assert_same_ranking(indexed.search(KB, vector, k), plain.search(KB, vector, k + 1))
        terms = query_vector(query)
        hits = indexed.search_sparse(KB, terms, k)
        assert_same_ranking(hits, plain.search_sparse(KB, terms, k + 1))
        found += bool(hits)
    return found


def test_the_index_ranks_dense_and_sparse_searches_as_local_mode_does(
    stores: tuple[VectorStore, VectorStore], texts: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    indexed, plain = stores
    write(indexed, [*texts, "", "   "], seed=1)  # two chunks without terms: in the IDF's point count
    with caplog.at_level(logging.INFO, logger="genai.stores.vectors_index"):
        found = compare(indexed, plain, word_runs(texts, 40, seed=2))
    assert found >= 35, "the queries should mostly match something"
    assert sum("indexed kb_indexed in memory: 902 points" in m for m in caplog.messages) == 1  # read once


def test_a_query_term_in_most_points_and_k_beyond_the_matches(
    stores: tuple[VectorStore, VectorStore], texts: list[str]
) -> None:
    indexed, plain = stores
    write(indexed, texts[:300], seed=3)
    common = query_vector("the")
    assert_same_ranking(indexed.search_sparse(KB, common, 50), plain.search_sparse(KB, common, 51))
    rare = query_vector(texts[5].split()[10])
    everything = indexed.search_sparse(KB, rare, 1000)
    assert 0 < len(everything) < 300  # only the points that share the term
    assert_same_ranking(everything, plain.search_sparse(KB, rare, 1001))
    assert indexed.search_sparse(KB, SparseTerms(indices=[4_000_000_000], values=[1.0]), 5) == []
    assert len(indexed.search(KB, ONES, 1000)) == 300


def test_every_write_reaches_the_next_search(
    stores: tuple[VectorStore, VectorStore], texts: list[str]
) -> None:
    indexed, plain = stores
    write(indexed, texts[:400], seed=4)
    marker = query_vector("zyzzogeton")
    assert indexed.search_sparse(KB, marker, 5) == []  # the index is read now
    write(indexed, ["the zyzzogeton, a leafhopper"], seed=5, prefix="new")
    assert [hit.doc_id for hit in indexed.search_sparse(KB, marker, 5)] == ["new-0"]
    # Deleting documents changes every term's document frequency: IDF as Qdrant has it after the delete.
    indexed.delete_documents(KB, [f"doc-{n}" for n in range(0, 100, 3)] + ["new-0"])
    assert indexed.search_sparse(KB, marker, 5) == []
    compare(indexed, plain, word_runs(texts[:400], 10, seed=6))
    indexed.delete_stale(KB, "doc-1", keep_hash="another")  # every point of doc-1 is stale
    assert "doc-1" not in {hit.doc_id for hit in indexed.search(KB, ONES, 1000)}
    # Writes through another store on the same folder reach this one's index too (one client, one cache).
    write(plain, ["the zyzzogeton again"], seed=7, prefix="other")
    assert [hit.doc_id for hit in indexed.search_sparse(KB, marker, 5)] == ["other-0"]
    assert indexed.drop(KB)
    indexed.ensure_collection(KB, DIM, sparse=True)
    assert indexed.search(KB, ONES, 5) == []


def test_a_filtered_search_is_answered_by_qdrant_and_respects_the_filter(
    stores: tuple[VectorStore, VectorStore], texts: list[str]
) -> None:
    indexed, plain = stores
    write(indexed, texts[:200], seed=8)
    wanted = ["doc-3", "doc-7"]
    vector = ONES
    hits = indexed.search(KB, vector, 20, filters={"doc_id": wanted})
    assert {hit.doc_id for hit in hits} == set(wanted) and len(hits) == 8
    assert_same_ranking(hits, plain.search(KB, vector, 21, filters={"doc_id": wanted}))


def test_a_collection_from_before_sparse_vectors_is_indexed_dense(tmp_path: Path, texts: list[str]) -> None:
    from qdrant_client.http import models

    from genai.stores.vectors import _payload, point_id

    with (
        VectorStore(QdrantSettings(path=tmp_path / "q")) as indexed,
        VectorStore(QdrantSettings(path=tmp_path / "q", local_index=False)) as plain,
    ):
        name = indexed.collection_name(KB)
        with indexed._call("writing as before sparse vectors") as client:  # one unnamed dense vector
            client.create_collection(
                name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
            )
            structs = [
                models.PointStruct(
                    id=point_id(c.doc_id, c.chunk_no),
                    vector=[float(x) for x in v],
                    payload=_payload(c, extras),
                )
                for c, v, extras in chunk_points(texts[:100], seed=9)
            ]
            client.upsert(name, points=structs, wait=True)
        layout = indexed.layout(KB)
        assert layout is not None and not layout.named and not layout.sparse
        for n in range(5):
            vector = random_vector(n)
            assert_same_ranking(indexed.search(KB, vector, 7), plain.search(KB, vector, 8))


def test_searches_in_threads_while_another_thread_writes(
    stores: tuple[VectorStore, VectorStore], texts: list[str]
) -> None:
    indexed, _ = stores
    write(indexed, texts[:200], seed=10)
    done = threading.Event()

    def writer() -> None:
        try:
            for n in range(10):
                write(indexed, texts[200 + 10 * n : 210 + 10 * n], seed=11 + n, prefix=f"w{n}")
        finally:
            done.set()

    def searcher(seed: int) -> int:
        rounds = 0
        while not done.is_set() or rounds == 0:
            assert len(indexed.search(KB, random_vector(seed + rounds), 5)) == 5
            rounds += 1
        return rounds

    with ThreadPoolExecutor(4) as pool:
        searches = [pool.submit(searcher, seed) for seed in (100, 200, 300)]
        pool.submit(writer).result(timeout=120)
        assert all(future.result(timeout=60) > 0 for future in searches)  # an assertion there fails here
    assert len(indexed.search(KB, ONES, 1000)) == 300
