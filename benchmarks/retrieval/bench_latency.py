"""Query latency of ``genai.retrieval.search`` over 100,000 chunks in Qdrant local mode.

What is real and what is not:

- the chunk texts are real text: consecutive ~120-word windows of the Python sources installed in this
  venv's site-packages (files in a seeded order), and their sparse vectors are the real BM25 document
  vectors (``genai.retrieval.sparse``) that ingestion would store;
- the dense vectors are random unit vectors of dimension 384 (the embedding model's), because embedding
  100,000 chunks takes about an hour on 2 cores. A brute-force scan costs the same whatever the vectors
  hold, so the latency holds; the rankings mean nothing and are not scored;
- the queries are the questions of the eval sets (or ``--queries``), embedded by the real model in each
  search call: the latency is that of the whole ``search`` call as the gateway and the CLI make it (query
  embedding, the Qdrant searches, fusion, grouping), with the store opened once.

Qdrant runs in local mode (``qdrant-client``'s in-process engine on a storage folder): no Qdrant server
installs on this machine. By default the store answers unfiltered searches from its exact in-memory index
(``genai.stores.vectors_index``), read by the first search after the load: that read is timed on its own
(``index_read_seconds``) and left out of the search percentiles, which are those of a store that has read
its index. ``--no-local-index`` measures local mode's own engine (Python and numpy, point by point).

Usage: ``python benchmarks/retrieval/bench_latency.py [--chunks 100000] [--queries FILE.jsonl]
[--searches 200] [--no-local-index] [--out FILE]``; results are added under ``latency``
(``latency_local_mode`` without the index) to docs/benchmarks/results/retrieval.json unless ``--out``
says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.provenance import RESULTS_DIR, provenance
from genai.settings import RetrievalMode

KB = "latency"
DIM = 384
WINDOW_WORDS = 120
BATCH = 2000
CASES: tuple[tuple[str, RetrievalMode, int, bool], ...] = (  # (label, mode, k, group by document)
    ("dense k=5", "dense", 5, False),
    ("sparse k=5", "sparse", 5, False),
    ("hybrid k=5", "hybrid", 5, False),
    ("hybrid k=10 documents", "hybrid", 10, True),
)


def text_windows(count: int, seed: int) -> Iterator[tuple[str, str]]:
    """(doc id, text) of ``count`` word windows of the venv's Python sources, files in a seeded order."""
    import site

    roots = [Path(p) for p in site.getsitepackages()]
    files = sorted(str(path) for root in roots for path in root.rglob("*.py"))
    random.Random(seed).shuffle(files)
    made = 0
    for name in files:
        try:
            words = Path(name).read_text(encoding="utf-8", errors="replace").split()
        except OSError:
            continue
        for start in range(0, max(0, len(words) - 20), WINDOW_WORDS):
            yield f"{name}#{start}", " ".join(words[start : start + WINDOW_WORDS])
            made += 1
            if made >= count:
                return


def load_points(store: Any, count: int, seed: int) -> dict[str, float]:
    """Write ``count`` points (random unit dense vectors, real sparse vectors); returns timings."""
    import numpy as np

    from genai.ingest.records import Chunk
    from genai.retrieval.sparse import document_vector

    rng = np.random.default_rng(seed)
    store.ensure_collection(KB, DIM, sparse=True)
    sparse_seconds = upsert_seconds = 0.0
    batch: list[tuple[str, str]] = []

    def flush() -> None:
        nonlocal sparse_seconds, upsert_seconds
        started = time.perf_counter()
        sparse = [document_vector(text) for _, text in batch]
        sparse_seconds += time.perf_counter() - started
        dense = rng.standard_normal((len(batch), DIM)).astype("float32")
        dense /= np.linalg.norm(dense, axis=1, keepdims=True)
        extras = {"doc_hash": "-", "pipeline_version": "bench", "type": "text"}
        points = [
            (
                Chunk(doc_id=doc, chunk_no=0, text=text, start=0, end=len(text), token_count=0),
                dense[i],
                {**extras, "source": doc, "title": doc.rsplit("/", 1)[-1]},
            )
            for i, (doc, text) in enumerate(batch)
        ]
        started = time.perf_counter()
        store.upsert(KB, points, sparse)
        upsert_seconds += time.perf_counter() - started
        batch.clear()

    for window in text_windows(count, seed):
        batch.append(window)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return {"sparse_vectors_seconds": round(sparse_seconds, 1), "upsert_seconds": round(upsert_seconds, 1)}


def questions(path: Path | None, searches: int, seed: int) -> list[str]:
    if path is None:
        found = [
            "copytree dirs_exist_ok",
            "what does --one-file-system do",
            "EXDEV: oldpath and newpath are not on the same mounted filesystem",
            "Recursively copy a directory tree and return the destination directory",
        ]
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        found = [str(row["question"]) for row in rows]
    rng = random.Random(seed)
    return [found[i % len(found)] for i in rng.sample(range(max(searches, len(found))), searches)]


def time_searches(store: Any, settings: Any, queries: list[str]) -> dict[str, Any]:
    import numpy as np

    from genai.embedding.shared import encoder_for
    from genai.retrieval import search

    out: dict[str, Any] = {}
    encoder_for(settings.embedding).encode_query(queries[0])  # the model's load is not the index's read
    started = time.perf_counter()
    search(KB, queries[0], 5, settings=settings, vectors=store, mode="hybrid")  # reads the index, if on
    out["index_read_seconds"] = round(time.perf_counter() - started, 1)
    out["index_mib"] = index_mib(store)
    for label, mode, k, grouped in CASES:
        search(KB, queries[0], k, settings=settings, vectors=store, mode=mode, group_by_document=grouped)
        times = []
        for query in queries:
            started = time.perf_counter()
            search(KB, query, k, settings=settings, vectors=store, mode=mode, group_by_document=grouped)
            times.append((time.perf_counter() - started) * 1000)
        values = np.array(times)
        out[label] = {
            "p50_ms": round(float(np.percentile(values, 50)), 1),
            "p95_ms": round(float(np.percentile(values, 95)), 1),
            "mean_ms": round(float(values.mean()), 1),
            "searches": len(times),
        }
        print(f"{label}: {out[label]}", flush=True)
    return out


def index_mib(store: Any) -> float | None:
    """The arrays of the store's in-memory indexes (dense matrix, sparse term matrix), in MiB; None when
    searches went to local mode alone. Python's per-point id strings come on top (about 80 bytes each)."""
    indexes = store._shared.indexes.values() if store._shared is not None else ()
    total = 0
    for index in indexes:
        total += index.dense.nbytes + index.idf.nbytes
        if index.sparse is not None:
            total += index.sparse.data.nbytes + index.sparse.indices.nbytes + index.sparse.indptr.nbytes
    return round(total / 2**20, 1) if total else None


def time_embedding(settings: Any, queries: list[str]) -> dict[str, float]:
    """The query embedding alone (part of every search above), to separate it from Qdrant's share."""
    import numpy as np

    from genai.embedding.shared import encoder_for

    encoder = encoder_for(settings.embedding)
    encoder.encode_query(queries[0])
    times = []
    for query in queries:
        started = time.perf_counter()
        encoder.encode_query(query)
        times.append((time.perf_counter() - started) * 1000)
    values = np.array(times)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 1),
        "p95_ms": round(float(np.percentile(values, 95)), 1),
    }


def brute_force_floor(count: int, seed: int, queries: list[str], settings: Any) -> dict[str, Any]:
    """Exact search over the same 100,000 chunks with numpy (dense: one matrix product) and scipy (sparse:
    one CSR product, IDF applied as Qdrant applies it), query embedding included: what an in-process
    engine without local mode's per-point Python work costs on this machine (no Qdrant involved)."""
    import numpy as np
    from scipy import sparse as sp

    from genai.embedding.shared import encoder_for
    from genai.retrieval.sparse import document_vector, query_vector

    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((count, DIM)).astype("float32")
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    rows, cols, vals = [], [], []
    for row, (_, text) in enumerate(text_windows(count, seed)):
        vector = document_vector(text)
        rows += [row] * len(vector.indices)
        cols += vector.indices
        vals += vector.values
    ids = np.array(cols, dtype=np.int64)
    vocab, columns = np.unique(ids, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.array(vals, dtype="float32"), (np.array(rows), columns)), shape=(count, len(vocab))
    )
    df = np.bincount(columns, minlength=len(vocab))
    idf = np.log((count - df + 0.5) / (df + 0.5) + 1.0).astype("float32")
    position = {int(term): i for i, term in enumerate(vocab)}
    encoder = encoder_for(settings.embedding)
    encoder.encode_query(queries[0])
    out: dict[str, Any] = {}
    for label in ("dense k=5", "sparse k=5"):
        times = []
        for query in queries:
            started = time.perf_counter()
            if label.startswith("dense"):
                scores = dense @ np.asarray(encoder.encode_query(query)[0], dtype="float32")
            else:
                terms = [position[t] for t in query_vector(query).indices if t in position]
                scores = np.asarray(matrix[:, terms] @ idf[terms]).ravel() if terms else np.zeros(count)
            top = np.argpartition(-scores, 5)[:5]
            _ = top[np.argsort(-scores[top])]  # the ranked top 5, as a search returns them
            times.append((time.perf_counter() - started) * 1000)
        values = np.array(times)
        out[label] = {
            "p50_ms": round(float(np.percentile(values, 50)), 1),
            "p95_ms": round(float(np.percentile(values, 95)), 1),
            "searches": len(times),
        }
        print(f"floor {label}: {out[label]}", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=Path, default=None)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "retrieval.json")
    parser.add_argument("--floor-only", action="store_true", help="only the numpy/scipy brute-force floor")
    parser.add_argument(
        "--no-local-index", action="store_true", help="search with local mode's own engine, not the index"
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-retrieval-latency-"))
    os.environ["GENAI_HOME"] = str(workdir / "home")
    os.environ["GENAI_QDRANT__LOCAL_INDEX"] = "false" if args.no_local_index else "true"
    from genai.settings import get_settings
    from genai.stores.vectors import VectorStore

    get_settings.cache_clear()
    settings = get_settings()
    queries = questions(args.queries, args.searches, args.seed)
    if args.floor_only:
        floor = brute_force_floor(args.chunks, args.seed, queries, settings)
        return _save(args.out, "latency_floor", {**provenance(), "points": args.chunks, "searches": floor})
    with VectorStore(settings.qdrant) as store:
        started = time.perf_counter()
        loading = load_points(store, args.chunks, args.seed)
        loading["load_seconds"] = round(time.perf_counter() - started, 1)
        points = store.count(KB)
        print(f"{points} points loaded: {loading}", flush=True)
        searches = time_searches(store, settings, queries)
    result = {
        **provenance(),
        "qdrant": "local mode (qdrant-client in process, storage folder)",
        "searched_by": "local mode's engine" if args.no_local_index else "the store's in-memory index",
        "points": points,
        "dense": "random unit vectors, 384-d",
        "sparse": "BM25 document vectors of real text (site-packages Python sources, 120-word windows)",
        "queries": str(args.queries or "built-in"),
        "cores": os.cpu_count(),
        "loading": loading,
        "searches": searches,
        "query_embedding": time_embedding(settings, queries),
    }
    return _save(args.out, "latency_local_mode" if args.no_local_index else "latency", result)


def _save(out: Path, key: str, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` under ``key`` of the JSON file ``out``, the file's other keys kept."""
    print(json.dumps(result, indent=2))
    current = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    current[key] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
