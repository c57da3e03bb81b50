"""Weighted reciprocal rank fusion and grouping by document, on hand-made rankings."""

from __future__ import annotations

import pytest

from genai.ingest.records import ScoredChunk
from genai.retrieval.fusion import reciprocal_rank_fusion
from genai.retrieval.grouping import best_chunk_per_document


def hit(doc_id: str, chunk_no: int = 0, score: float = 0.5) -> ScoredChunk:
    return ScoredChunk(
        score=score,
        doc_id=doc_id,
        chunk_no=chunk_no,
        text=f"{doc_id} {chunk_no}",
        source=doc_id,
        title=doc_id,
        start=0,
        end=3,
    )


def order(hits: list[ScoredChunk]) -> list[str]:
    return [h.doc_id for h in hits]


def test_a_chunk_both_rankings_like_beats_one_that_only_one_ranks_first() -> None:
    dense = [hit("a"), hit("b")]
    sparse = [hit("c"), hit("b")]
    fused = reciprocal_rank_fusion([dense, sparse], [1.0, 1.0], k=60)
    assert order(fused) == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(2 / 62)


def test_weights_move_the_order_towards_the_heavier_ranking() -> None:
    dense = [hit("a"), hit("b")]
    sparse = [hit("b"), hit("a")]
    assert order(reciprocal_rank_fusion([dense, sparse], [2.0, 1.0]))[0] == "a"
    assert order(reciprocal_rank_fusion([dense, sparse], [1.0, 2.0]))[0] == "b"
    only_sparse = reciprocal_rank_fusion([dense, sparse], [0.0, 1.0])
    assert order(only_sparse) == ["b", "a"]


def test_a_small_k_lets_the_first_rank_dominate() -> None:
    # "a" is 1st and 4th, "b" 2nd and 2nd: with k=1 the first rank wins, with k=60 the agreement does.
    dense = [hit("a"), hit("b"), hit("y")]
    sparse = [hit("q"), hit("b"), hit("w"), hit("a")]
    assert order(reciprocal_rank_fusion([dense, sparse], [1.0, 1.0], k=1))[0] == "a"
    assert order(reciprocal_rank_fusion([dense, sparse], [1.0, 1.0], k=60))[0] == "b"


def test_chunks_are_told_apart_by_document_and_number() -> None:
    fused = reciprocal_rank_fusion([[hit("a", 0), hit("a", 1)], [hit("a", 1)]], [1.0, 1.0])
    assert [(h.doc_id, h.chunk_no) for h in fused] == [("a", 1), ("a", 0)]


def test_mismatched_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([[hit("a")]], [1.0, 1.0])


def test_grouping_keeps_the_best_chunk_of_each_document_in_order() -> None:
    hits = [hit("a", 3, 0.9), hit("a", 1, 0.8), hit("b", 0, 0.7), hit("a", 0, 0.6), hit("c", 2, 0.5)]
    grouped = best_chunk_per_document(hits)
    assert [(h.doc_id, h.chunk_no) for h in grouped] == [("a", 3), ("b", 0), ("c", 2)]
    assert [h.citation for h in best_chunk_per_document(hits, limit=2)] == ["a#chunk-3", "b#chunk-0"]
