"""Weighted reciprocal rank fusion: one ranking from several, by rank rather than by score.

A chunk at rank ``r`` (1-based) of a ranking with weight ``w`` earns ``w / (k + r)``; its fused score is the
sum over the rankings it appears in. Ranks, not scores, because a cosine similarity and a BM25 score are on
scales that cannot be added; ``k`` (``retrieval.rrf_k``, 60 as in Cormack et al.) damps the lead of the very
first ranks, so a chunk that both rankings place well beats one that only one places first.
"""

from __future__ import annotations

from collections.abc import Sequence

from genai.ingest.records import ScoredChunk


def chunk_key(hit: ScoredChunk) -> tuple[str, int]:
    """What identifies a chunk across rankings."""
    return (hit.doc_id, hit.chunk_no)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[ScoredChunk]], weights: Sequence[float], k: int = 60
) -> list[ScoredChunk]:
    """The chunks of every ranking, best fused score first; each hit's ``score`` is its fused score.
    Ties keep the order of first appearance (the first ranking's order first)."""
    if len(rankings) != len(weights):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    if k < 1:
        raise ValueError("rrf k must be at least 1")
    scores: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], ScoredChunk] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(ranking, start=1):
            key = chunk_key(hit)
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
            first.setdefault(key, hit)
    order = sorted(scores, key=lambda key: -scores[key])  # sorted() is stable: ties keep first appearance
    return [first[key].model_copy(update={"score": scores[key]}) for key in order]
