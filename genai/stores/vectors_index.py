"""An exact in-memory index of a collection in Qdrant's local mode: the same searches, as matrix products.

Local mode (qdrant-client's in-process engine) scores sparse vectors one point at a time in Python and
sorts every score of the collection for each query, so a search over 100,000 chunks takes seconds
(docs/benchmarks/retrieval.md). ``CollectionIndex`` holds the same points as a matrix of unit dense vectors
and a column-compressed term matrix, and answers an unfiltered search the way local mode does:

- dense: cosine similarity, the dot product of the stored unit vectors with the normalised query;
- sparse: the dot product of each point's term weights with the query's weights times Qdrant's IDF,
  ``ln((n - df + 0.5) / (df + 0.5) + 1)`` with ``n`` the points holding a sparse vector and ``df`` those
  holding the term, among the points that share at least one term with the query.

It is read from a scroll of the collection (about 0.1 ms a point, so ~10 s at 100,000) the first time a
search needs it, and the store drops it on every write it makes (``genai.stores.vectors``), under the
client's lock, so a search never sees an index older than the collection. Local mode lets one process at a
time open the folder, so no other process can write behind it. Filtered searches, Qdrant servers (which
have their own index) and the exclusive mode of ingestion shards do not use it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from qdrant_client import QdrantClient
    from scipy.sparse import csc_matrix

    from genai.stores.vectors_hybrid import CollectionLayout, SparseTerms

log = logging.getLogger(__name__)

SCROLL_PAGE = 4096


@dataclass(frozen=True)
class IndexHit:
    """A point the index ranked: its Qdrant id and its score (cosine similarity or BM25 score)."""

    point_id: str
    score: float


class CollectionIndex:
    """The points of one collection as matrices; immutable once built, so searches need no lock."""

    def __init__(
        self,
        ids: Sequence[str],
        dense: np.ndarray,
        sparse: csc_matrix | None = None,
        terms: Sequence[int] = (),
        sparse_points: int = 0,
    ) -> None:
        """``dense``: one unit row per id. ``sparse``: one row per id, one column per term of ``terms``
        (Qdrant's term ids, in column order); ``sparse_points``: how many points hold a sparse vector."""
        import numpy as np

        self.ids = list(ids)
        self.dense = dense
        self.sparse = sparse
        self.columns = {int(term): column for column, term in enumerate(terms)}
        self.idf = np.zeros(0, dtype=np.float32)
        if sparse is not None:
            df = np.diff(sparse.indptr).astype(np.float64)  # points per term: a column's stored entries
            self.idf = np.log((sparse_points - df + 0.5) / (df + 0.5) + 1.0).astype(np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def dense_top(self, query: Sequence[float], k: int) -> list[IndexHit]:
        """The ``k`` points most similar to ``query`` by cosine similarity, best first."""
        import numpy as np

        vector = np.asarray(query, dtype=np.float32)
        norm = float(np.sqrt(np.einsum("i,i->", vector, vector)))
        if norm == 0.0 or not self.ids:
            return []
        # einsum, not ``@``: numpy's own loop instead of BLAS. BLAS's threads keep spinning after a product
        # and then compete with the embedding model's threads for the cores: over 100k chunks a search
        # embedding a query each time took twice as long at the median and four times at p95 with ``@``
        # (benchmarks/retrieval/bench_latency.py), for a scan ~1.4x faster alone.
        scores = np.einsum("ij,j->i", self.dense, vector / norm)
        return self._top(scores, np.arange(len(self.ids)), k)

    def sparse_top(self, terms: SparseTerms, k: int) -> list[IndexHit]:
        """The ``k`` points with the highest BM25 score for the query's terms, best first, among those
        sharing a term with it; [] for a collection without sparse vectors or a query with no known term."""
        import numpy as np

        if self.sparse is None:
            return []
        known = [
            (self.columns[t], v)
            for t, v in zip(terms.indices, terms.values, strict=True)
            if t in self.columns
        ]
        if not known:
            return []
        columns = np.array([column for column, _ in known])
        weights = np.array([value for _, value in known], dtype=np.float32) * self.idf[columns]
        matched = self.sparse[:, columns]
        scores = np.asarray(matched @ weights).ravel()
        # The rows sharing a term: marked, not np.unique'd (a sort of every entry of a common term's column
        # was most of a search's time).
        sharing = np.zeros(len(self.ids), dtype=bool)
        sharing[matched.indices] = True
        return self._top(scores, np.flatnonzero(sharing), k)

    def _top(self, scores: np.ndarray, candidates: np.ndarray, k: int) -> list[IndexHit]:
        import numpy as np

        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [IndexHit(self.ids[row], float(scores[row])) for row in ranked]


def read_index(client: QdrantClient, name: str, layout: CollectionLayout) -> CollectionIndex:
    """Scroll every point's vectors of collection ``name`` (no payloads) into a ``CollectionIndex``."""
    import numpy as np
    from scipy import sparse as sp

    from genai.stores.vectors_hybrid import DENSE, SPARSE

    started = time.perf_counter()
    ids: list[str] = []
    dense: list[Any] = []
    rows: list[np.ndarray] = []
    term_ids: list[Sequence[int]] = []
    values: list[Sequence[float]] = []
    sparse_points = 0
    wanted: Any = [DENSE, SPARSE] if layout.sparse else ([DENSE] if layout.named else True)
    offset = None
    while True:
        points, offset = client.scroll(
            name, limit=SCROLL_PAGE, offset=offset, with_vectors=wanted, with_payload=False
        )
        for point in points:
            vector: Any = point.vector
            row = len(ids)
            ids.append(str(point.id))
            dense.append(vector[DENSE] if layout.named else vector)
            terms = vector.get(SPARSE) if layout.sparse else None
            if terms is not None:
                sparse_points += 1
                rows.append(np.full(len(terms.indices), row, dtype=np.int64))
                term_ids.append(terms.indices)
                values.append(terms.values)
        if offset is None:
            break
    matrix = np.asarray(dense, dtype=np.float32).reshape(len(ids), layout.dim or 0)
    sparse, vocabulary = None, np.zeros(0, dtype=np.int64)
    if layout.sparse:
        flat_terms = _flat([np.asarray(t, dtype=np.int64) for t in term_ids], np.int64)
        vocabulary, columns = np.unique(flat_terms, return_inverse=True)
        flat_rows = _flat(rows, np.int64)
        flat_values = _flat([np.asarray(v, dtype=np.float32) for v in values], np.float32)
        sparse = sp.csc_matrix(
            (flat_values, (flat_rows, columns)),
            shape=(len(ids), len(vocabulary)),
        )
    index = CollectionIndex(ids, matrix, sparse, vocabulary.tolist(), sparse_points)
    log.info("indexed %s in memory: %d points in %.1f s", name, len(index), time.perf_counter() - started)
    return index


def _flat(parts: list[np.ndarray], dtype: type[np.generic]) -> np.ndarray:
    """The parts end to end (an empty array of ``dtype`` for none: a collection with no sparse vector)."""
    import numpy as np

    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
