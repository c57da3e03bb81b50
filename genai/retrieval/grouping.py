"""Results by document: when a caller asks which documents answer a query, not which chunks.

A document is as good as its best chunk: the first (best) hit of each document is kept and cited, the
document's other chunks are dropped, and the order of the best chunks is the order of the documents.
"""

from __future__ import annotations

from collections.abc import Iterable

from genai.ingest.records import ScoredChunk


def best_chunk_per_document(hits: Iterable[ScoredChunk], limit: int | None = None) -> list[ScoredChunk]:
    """The first hit of each document, in the order given (best first), at most ``limit`` of them."""
    seen: set[str] = set()
    kept: list[ScoredChunk] = []
    for hit in hits:
        if hit.doc_id in seen:
            continue
        seen.add(hit.doc_id)
        kept.append(hit)
        if limit is not None and len(kept) >= limit:
            break
    return kept
