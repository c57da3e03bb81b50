"""Retrieval metrics on document ids: hit@k, reciprocal rank (its mean is MRR) and nDCG@k, and the fixed
cut-offs a retrieval comparison reports (``ranking_scores``: hit@1, hit@5, MRR@10, nDCG@10).

Search returns chunks, and several chunks of one document can appear in one result list. Relevance is
judged per document (an eval set names relevant doc ids), so the ranked chunk list is first collapsed to
its distinct doc ids, each keeping the rank of its first (best) chunk: ``[a, a, b, a, c]`` becomes
``[a, b, c]``. ``k`` then counts documents, not chunks. Every function here collapses its input itself, so
passing the raw chunk doc ids is fine and passing an already collapsed list changes nothing.

Relevance is binary (a doc id is in the relevant set or not), and an empty relevant set scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def ranked_doc_ids(chunk_doc_ids: Sequence[str]) -> list[str]:
    """The distinct doc ids of a ranked chunk list, in order of their first chunk."""
    return list(dict.fromkeys(chunk_doc_ids))


def hit_at_k(chunk_doc_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when a relevant document is among the first ``k`` documents, else 0.0."""
    _check_k(k)
    relevant_set = set(relevant)
    return 1.0 if any(doc in relevant_set for doc in ranked_doc_ids(chunk_doc_ids)[:k]) else 0.0


def reciprocal_rank(chunk_doc_ids: Sequence[str], relevant: Collection[str], k: int | None = None) -> float:
    """1 / the rank (1-based) of the first relevant document, within the first ``k`` when given; 0.0 when
    none is found. The mean over examples is the mean reciprocal rank (MRR)."""
    if k is not None:
        _check_k(k)
    relevant_set = set(relevant)
    ranked = ranked_doc_ids(chunk_doc_ids)
    for rank, doc in enumerate(ranked[:k] if k is not None else ranked, start=1):
        if doc in relevant_set:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(chunk_doc_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with binary relevance.

    DCG@k = sum over the first ``k`` documents of rel_i / log2(i + 1) (i from 1); the ideal DCG puts every
    relevant document first, so it sums 1 / log2(i + 1) for i = 1..min(k, |relevant|). The ratio is in
    [0, 1]; 1 means every slot the relevant documents could fill is filled by them, best first.
    """
    _check_k(k)
    relevant_set = set(relevant)
    if not relevant_set:
        return 0.0
    ranked = ranked_doc_ids(chunk_doc_ids)[:k]
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked) if doc in relevant_set)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant_set))))
    return dcg / ideal


RANKING_SCORES = ("hit_at_1", "hit_at_5", "mrr_at_10", "ndcg_at_10")


def ranking_scores(chunk_doc_ids: Sequence[str], relevant: Collection[str]) -> dict[str, float]:
    """The scores of ``RANKING_SCORES`` for one ranked list: whether the right document came first, is in
    the top 5, how high the first relevant one is (reciprocal rank cut at 10) and nDCG@10. Fixed cut-offs,
    unlike the evaluation's configurable ``k``, so that retrieval modes compare on the same numbers."""
    return {
        "hit_at_1": hit_at_k(chunk_doc_ids, relevant, 1),
        "hit_at_5": hit_at_k(chunk_doc_ids, relevant, 5),
        "mrr_at_10": reciprocal_rank(chunk_doc_ids, relevant, 10),
        "ndcg_at_10": ndcg_at_k(chunk_doc_ids, relevant, 10),
    }


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
