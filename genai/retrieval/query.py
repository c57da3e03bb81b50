"""``search``: the ranked chunks (or documents) of a knowledge base for a query.

Modes: ``dense`` embeds the query with the same model that embedded the chunks (cosine similarity); ``sparse``
scores BM25 term weights (``genai.retrieval.sparse``), which finds exact names a small embedding model
blurs; ``hybrid`` takes ``retrieval.candidates`` hits from each and fuses them by weighted reciprocal rank
(``genai.retrieval.fusion``). A hit's ``score`` is the cosine similarity, the BM25 score or the fused score.

``mode=None`` uses the knowledge base's configured mode (``retrieval.mode``, or
``retrieval.knowledge_bases.NAME.mode``). A knowledge base indexed without sparse vectors (one ingested
before they existed) is searched dense while the mode is only the section's default, so it keeps working;
asked for sparse or hybrid explicitly, the search refuses with ``SparseIndexMissingError`` naming the fix.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from genai.ingest.records import ScoredChunk
from genai.retrieval.errors import SparseIndexMissingError, UnknownKnowledgeBaseError
from genai.retrieval.fusion import reciprocal_rank_fusion
from genai.retrieval.grouping import best_chunk_per_document
from genai.settings import ResolvedRetrieval, RetrievalMode, Settings, get_settings

if TYPE_CHECKING:
    from genai.stores.vectors import VectorStore

log = logging.getLogger(__name__)

GROUPING_FACTOR = 4  # chunks fetched per document asked for, so that k distinct documents remain
MODES: tuple[RetrievalMode, ...] = ("dense", "sparse", "hybrid")


def search(
    kb: str,
    query: str,
    k: int = 5,
    filters: dict[str, Any] | None = None,
    settings: Settings | None = None,
    vectors: VectorStore | None = None,
    *,
    mode: RetrievalMode | None = None,
    group_by_document: bool = False,
) -> list[ScoredChunk]:
    """The ``k`` chunks of ``kb`` that best answer ``query``, best first, optionally filtered on payload
    fields (``doc_id``, ``source``, ``type``, ...; a list value matches any of its items).

    ``mode``: ``dense``, ``sparse``, ``hybrid``, or None for the knowledge base's configured mode.
    ``group_by_document``: at most one hit per document (its best chunk, which the hit cites), ``k``
    documents. Long-lived callers (the gateway) pass their open ``vectors`` store; otherwise one is opened
    and closed for this search."""
    if not query.strip():
        raise ValueError("the query is empty")
    if k < 1:
        raise ValueError("k must be at least 1")
    if mode is not None and mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}: choose one of {', '.join(MODES)}")
    settings = settings or get_settings()
    from genai.stores.vectors import VectorStore

    if vectors is None:
        with VectorStore(settings.qdrant) as opened:
            return _search(opened, kb, query, k, filters, settings, mode, group_by_document)
    return _search(vectors, kb, query, k, filters, settings, mode, group_by_document)


def effective_mode(
    kb: str, has_sparse: bool, resolved: ResolvedRetrieval, mode: RetrievalMode | None
) -> RetrievalMode:
    """The mode a search runs in: the one asked, else the configured one; refuses sparse or hybrid on a
    knowledge base without sparse vectors unless the mode was only the section's default."""
    chosen = mode or resolved.mode
    if chosen == "dense" or has_sparse:
        return chosen
    if mode is not None or resolved.mode_explicit:
        raise SparseIndexMissingError(kb, chosen)
    log.debug("knowledge base %s has no sparse vectors: searching it dense", kb)
    return "dense"


def _search(
    vectors: VectorStore,
    kb: str,
    query: str,
    k: int,
    filters: dict[str, Any] | None,
    settings: Settings,
    mode: RetrievalMode | None,
    group_by_document: bool,
) -> list[ScoredChunk]:
    layout = vectors.layout(kb)
    if layout is None:
        known = ", ".join(vectors.knowledge_bases()) or "none yet"
        raise UnknownKnowledgeBaseError(f"knowledge base {kb!r} does not exist (known: {known})")
    resolved = settings.retrieval.for_kb(kb)
    chosen = effective_mode(kb, layout.sparse, resolved, mode)
    wanted = k * GROUPING_FACTOR if group_by_document else k
    if chosen == "hybrid":
        depth = max(wanted, resolved.candidates)
        rankings = [
            _dense(vectors, kb, query, depth, filters, settings),
            _sparse(vectors, kb, query, depth, filters),
        ]
        hits = reciprocal_rank_fusion(
            rankings, [resolved.dense_weight, resolved.sparse_weight], resolved.rrf_k
        )
    elif chosen == "sparse":
        hits = _sparse(vectors, kb, query, wanted, filters)
    else:
        hits = _dense(vectors, kb, query, wanted, filters, settings)
    if group_by_document:
        return best_chunk_per_document(hits, k)
    return hits[:k]


def _dense(
    vectors: VectorStore, kb: str, query: str, k: int, filters: dict[str, Any] | None, settings: Settings
) -> list[ScoredChunk]:
    from genai.embedding.shared import encoder_for

    encoder = encoder_for(settings.embedding)
    return vectors.search(kb, encoder.encode_query(query)[0], k, filters)


def _sparse(
    vectors: VectorStore, kb: str, query: str, k: int, filters: dict[str, Any] | None
) -> list[ScoredChunk]:
    from genai.retrieval.sparse import query_vector

    return vectors.search_sparse(kb, query_vector(query), k, filters)
