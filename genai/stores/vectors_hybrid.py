"""The vector layout of a knowledge base's collection, and the writes and searches that depend on it.

Two layouts exist. Collections made before sparse vectors hold one unnamed dense vector per point; they stay
searchable by dense vectors as they are. Collections made now hold named vectors: ``dense`` (cosine) and,
when the knowledge base is indexed with sparse vectors, ``sparse`` with Qdrant's IDF modifier (the point's
values are BM25 term weights, ``genai.retrieval.sparse``; Qdrant multiplies each matched term by its inverse
document frequency over the collection at query time, so IDF stays right as documents come and go).

``VectorStore`` (``genai.stores.vectors``) takes these methods from ``VectorCollections``; they use its
``_call``, ``collection_name`` and ``is_local``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genai.ingest.records import ScoredChunk
from genai.stores.errors import KnowledgeBaseNotFoundError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient
    from qdrant_client.http import models

    from genai.stores.vectors import FilterValue, VectorPoint
    from genai.stores.vectors_index import IndexHit

DENSE = "dense"
SPARSE = "sparse"


@dataclass(frozen=True)
class SparseTerms:
    """A sparse vector: term ids (unsigned 32-bit) and their weights, ids unique."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class CollectionLayout:
    """How a collection stores its points' vectors."""

    named: bool  # False: one unnamed dense vector (a collection made before sparse vectors)
    dim: int | None
    sparse: bool


def layout_of(info: Any) -> CollectionLayout:
    """The layout of a collection from Qdrant's collection info."""
    from qdrant_client.http import models

    params = info.config.params
    vectors = params.vectors
    sparse = bool(params.sparse_vectors and SPARSE in params.sparse_vectors)
    if isinstance(vectors, models.VectorParams):
        return CollectionLayout(named=False, dim=vectors.size, sparse=sparse)
    dense = (vectors or {}).get(DENSE)
    return CollectionLayout(named=True, dim=dense.size if dense is not None else None, sparse=sparse)


def _sparse_model(terms: SparseTerms) -> models.SparseVector:
    from qdrant_client.http import models

    return models.SparseVector(indices=terms.indices, values=terms.values)


class VectorCollections:
    """Collection layout, writes and searches for ``VectorStore`` (a mixin: see the module docstring)."""

    collection_name: Any
    is_local: Any
    _call: Any  # (operation: str) -> context manager yielding the client
    local_index: Any  # (client, name, layout) -> CollectionIndex | None, under _call
    forget_index: Any  # (name) -> None, under _call by every write

    def layout(self, kb: str) -> CollectionLayout | None:
        """The knowledge base's collection layout; None when it has no collection."""
        name = self.collection_name(kb)
        with self._client_for(f"reading {name}") as client:
            if not client.collection_exists(name):
                return None
            return layout_of(client.get_collection(name))

    def ensure_collection(self, kb: str, dim: int, sparse: bool = False) -> None:
        """Create the knowledge base's collection if missing; refuse one made for another vector size.

        A collection whose sparse vectors do not match ``sparse`` is dropped and made again: the index-time
        choice changed, so the pipeline version changed too and every document is being written again (the
        documents not yet rewritten are searchable again when they are)."""
        name = self.collection_name(kb)
        with self._client_for(f"ensuring collection {name}") as client:
            if client.collection_exists(name):
                layout = layout_of(client.get_collection(name))
                if layout.sparse == sparse:
                    _check_size(name, layout, dim)
                    return
                client.delete_collection(name)
            self.forget_index(name)
            self._create(client, name, dim, sparse)
            layout = layout_of(client.get_collection(name))
        _check_size(name, layout, dim)

    def _create(self, client: QdrantClient, name: str, dim: int, sparse: bool) -> None:
        from qdrant_client.http import models

        from genai.stores.vectors import KEYWORD_INDEXES

        try:
            client.create_collection(
                name,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config=(
                    {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)} if sparse else None
                ),
            )
        except Exception:
            # Another process may have created it in between; anything else is a real failure.
            if not client.collection_exists(name):
                raise
        # Local mode ignores payload indexes (and warns); a server uses them for filters.
        for field in () if self.is_local else KEYWORD_INDEXES:
            client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)

    def upsert(
        self, kb: str, points: Sequence[VectorPoint], sparse: Sequence[SparseTerms] | None = None
    ) -> None:
        """Write chunks' vectors with their payload; the same chunk written twice is one point. ``sparse``
        (one per point) goes with them in a collection that holds sparse vectors."""
        from qdrant_client.http import models

        from genai.stores.vectors import UPSERT_BATCH, _floats, _payload, point_id

        if sparse is not None and len(sparse) != len(points):
            raise ValueError(f"{len(points)} points but {len(sparse)} sparse vectors")
        name = self.collection_name(kb)
        with self._client_for(f"upserting into {name}") as client:
            layout = layout_of(client.get_collection(name))
            if sparse is not None and not layout.sparse:
                raise ValueError(f"collection {name} holds no sparse vectors: ensure_collection(sparse=True)")
            structs = []
            for i, (chunk, vector, extras) in enumerate(points):
                dense = _floats(vector)
                vectors: Any = dense
                if layout.named:
                    vectors = {DENSE: dense}
                    if sparse is not None and layout.sparse:
                        vectors[SPARSE] = _sparse_model(sparse[i])
                structs.append(
                    models.PointStruct(
                        id=point_id(chunk.doc_id, chunk.chunk_no),
                        vector=vectors,
                        payload=_payload(chunk, extras),
                    )
                )
            self.forget_index(name)
            for start in range(0, len(structs), UPSERT_BATCH):
                client.upsert(name, points=structs[start : start + UPSERT_BATCH], wait=True)

    def search(
        self, kb: str, vector: Sequence[float], k: int = 5, filters: Mapping[str, FilterValue] | None = None
    ) -> list[ScoredChunk]:
        """The ``k`` chunks most similar to ``vector`` (dense, cosine), best first, among points matching
        ``filters`` (payload key -> a value, or a list of accepted values)."""
        from genai.stores.vectors import _floats

        return self._query(kb, "dense", _floats(vector), k, filters)

    def search_sparse(
        self, kb: str, terms: SparseTerms, k: int = 5, filters: Mapping[str, FilterValue] | None = None
    ) -> list[ScoredChunk]:
        """The ``k`` chunks with the highest BM25 score for the query's terms, best first. A query without
        terms matches nothing. ``KnowledgeBaseNotFoundError`` when the collection holds no sparse vectors."""
        if not terms.indices:
            return []
        return self._query(kb, "sparse", terms, k, filters)

    def _query(
        self,
        kb: str,
        kind: str,
        query: list[float] | SparseTerms,
        k: int,
        filters: Mapping[str, FilterValue] | None,
    ) -> list[ScoredChunk]:
        from genai.stores.vectors import _filter, _scored

        name = self.collection_name(kb)
        query_filter = _filter(filters)
        with self._client_for(f"searching {name}") as client:
            if not client.collection_exists(name):
                raise KnowledgeBaseNotFoundError(f"knowledge base {kb!r} has no vectors")
            layout = layout_of(client.get_collection(name))
            if kind == "sparse" and not layout.sparse:
                raise KnowledgeBaseNotFoundError(f"knowledge base {kb!r} has no sparse vectors")
            index = self.local_index(client, name, layout) if query_filter is None else None
            if index is None:
                using = (SPARSE if kind == "sparse" else DENSE) if layout.named else None
                asked = _sparse_model(query) if isinstance(query, SparseTerms) else query
                response = client.query_points(
                    name, query=asked, using=using, limit=k, query_filter=query_filter, with_payload=True
                )
                return [_scored(point) for point in response.points]
        # The index is immutable: the matrix products run outside the client's lock.
        hits = index.sparse_top(query, k) if isinstance(query, SparseTerms) else index.dense_top(query, k)
        return self._with_payloads(name, hits)

    def _with_payloads(self, name: str, hits: Sequence[IndexHit]) -> list[ScoredChunk]:
        """The index's hits as chunks, their payloads read from Qdrant (a point deleted since is left out)."""
        from genai.stores.vectors import _scored

        if not hits:
            return []
        with self._client_for(f"reading hits of {name}") as client:
            points = client.retrieve(name, ids=[hit.point_id for hit in hits], with_payload=True)
        payloads = {str(point.id): point.payload for point in points}
        return [
            _scored(_Unscored(payloads[hit.point_id], hit.score)) for hit in hits if hit.point_id in payloads
        ]

    def chunks_at(self, kb: str, refs: Sequence[tuple[str, int]]) -> list[ScoredChunk]:
        """The stored chunks at ``(doc_id, chunk_no)`` positions that exist, in the order asked, score 0."""
        from genai.stores.vectors import _scored, point_id

        if not refs:
            return []
        name = self.collection_name(kb)
        ids = [point_id(doc_id, chunk_no) for doc_id, chunk_no in refs]
        with self._client_for(f"reading chunks of {name}") as client:
            if not client.collection_exists(name):
                return []
            points = client.retrieve(name, ids=ids, with_payload=True, with_vectors=False)
        by_id = {str(point.id): point for point in points}
        return [_scored(_Unscored(by_id[point_id_].payload)) for point_id_ in ids if point_id_ in by_id]

    def _client_for(self, operation: str) -> AbstractContextManager[QdrantClient]:
        call: AbstractContextManager[QdrantClient] = self._call(operation)
        return call


@dataclass
class _Unscored:
    """A retrieved point has no score; ``_scored`` reads ``payload`` and ``score``."""

    payload: Any
    score: float = 0.0


def _check_size(name: str, layout: CollectionLayout, dim: int) -> None:
    if layout.dim != dim:
        raise ValueError(
            f"collection {name} holds {layout.dim}-d vectors, not {dim}-d: the embedding model changed; "
            f"drop the knowledge base and ingest it again"
        )
