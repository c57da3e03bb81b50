"""Retrieval: the one search function that the CLI, the gateway (retrieval-augmented context) and
evaluation share. It embeds the query with the same model that embedded the chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genai.ingest.records import ScoredChunk
from genai.settings import EmbeddingSettings, Settings, get_settings

if TYPE_CHECKING:
    from genai.stores.vectors import VectorStore


class UnknownKnowledgeBaseError(LookupError):
    """Search named a knowledge base that has never been ingested."""


def search(
    kb: str,
    query: str,
    k: int = 5,
    filters: dict[str, Any] | None = None,
    settings: Settings | None = None,
    vectors: VectorStore | None = None,
) -> list[ScoredChunk]:
    """The ``k`` chunks of ``kb`` most similar to ``query``, best first, optionally filtered on payload
    fields (``doc_id``, ``source``, ``type``, ...; a list value matches any of its items).

    Long-lived callers (the gateway) pass their open ``vectors`` store; otherwise one is opened and closed
    for this search."""
    if not query.strip():
        raise ValueError("the query is empty")
    if k < 1:
        raise ValueError("k must be at least 1")
    settings = settings or get_settings()
    from genai.stores.vectors import VectorStore

    if vectors is None:
        with VectorStore(settings.qdrant) as opened:
            return _search(opened, kb, query, k, filters, settings.embedding)
    return _search(vectors, kb, query, k, filters, settings.embedding)


def _search(
    vectors: VectorStore,
    kb: str,
    query: str,
    k: int,
    filters: dict[str, Any] | None,
    embedding: EmbeddingSettings,
) -> list[ScoredChunk]:
    from genai.embedding.shared import encoder_for

    if not vectors.exists(kb):
        known = ", ".join(vectors.knowledge_bases()) or "none yet"
        raise UnknownKnowledgeBaseError(f"knowledge base {kb!r} does not exist (known: {known})")
    encoder = encoder_for(embedding)
    return vectors.search(kb, encoder.encode_query(query)[0], k, filters)
