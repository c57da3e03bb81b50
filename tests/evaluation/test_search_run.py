"""The fixed-cut-off ranking scores (hit@1, hit@5, MRR@10, nDCG@10) and the search-only evaluation's run
and summary, on hand-made rankings and a search function that is a plain lookup table."""

from __future__ import annotations

import math

import pytest

from genai.evaluation.eval_set import EvalExample
from genai.evaluation.retrieval_metrics import RANKING_SCORES, ranking_scores
from genai.evaluation.search_run import run_search, summarize_search
from tasks.evaluate_search import query_kind


def test_ranking_scores_by_hand() -> None:
    # The relevant document is the 3rd distinct one (chunks of 'a' repeat): no hit@1, hit@5, RR 1/3.
    scores = ranking_scores(["a", "a", "b", "rel", "c"], {"rel"})
    assert scores == pytest.approx(
        {"hit_at_1": 0.0, "hit_at_5": 1.0, "mrr_at_10": 1 / 3, "ndcg_at_10": 1 / math.log2(4)}
    )
    assert tuple(scores) == RANKING_SCORES
    assert ranking_scores(["rel", "x"], {"rel"}) == pytest.approx(
        {"hit_at_1": 1.0, "hit_at_5": 1.0, "mrr_at_10": 1.0, "ndcg_at_10": 1.0}
    )


def test_ranking_scores_cut_off_at_5_and_10() -> None:
    ranking = [f"d{i}" for i in range(1, 12)]  # d1 .. d11
    sixth = ranking_scores(ranking, {"d6"})
    assert sixth["hit_at_5"] == 0.0 and sixth["mrr_at_10"] == pytest.approx(1 / 6)
    eleventh = ranking_scores(ranking, {"d11"})
    assert eleventh == {"hit_at_1": 0.0, "hit_at_5": 0.0, "mrr_at_10": 0.0, "ndcg_at_10": 0.0}
    assert ranking_scores([], {"d1"})["mrr_at_10"] == 0.0


def _example(example_id: str, question: str, relevant: list[str], kb: str = "kb") -> EvalExample:
    return EvalExample(
        id=example_id, question=question, reference_answer="-", relevant_doc_ids=relevant, knowledge_base=kb
    )


def test_run_search_scores_each_example_and_records_failures() -> None:
    table = {"alpha": ["a.md", "b.md"], "beta": ["a.md", "a.md", "b.md"]}
    asked: list[tuple[str, str, int]] = []

    def search(kb: str, question: str, k: int) -> list[str]:
        asked.append((kb, question, k))
        if question == "broken":
            raise RuntimeError("store closed")
        return table[question]

    examples = [
        _example("s-api-1", "alpha", ["a.md"]),
        _example("s-api-2", "beta", ["b.md"]),
        _example("s-natural-1", "broken", ["a.md"]),
    ]
    results, warmup_ms = run_search(examples, search, k=10, knowledge_base="override")
    assert warmup_ms >= 0 and asked[0] == ("override", "alpha", 10)  # the warm-up search
    assert {kb for kb, _, _ in asked} == {"override"}
    assert [r.doc_ids for r in results] == [["a.md", "b.md"], ["a.md", "b.md"], []]
    assert [r.scores["hit_at_1"] for r in results] == [1.0, 0.0, 0.0]
    assert results[1].scores["mrr_at_10"] == 0.5
    assert results[2].error == "RuntimeError: store closed"

    summary = summarize_search("dense", results, query_kind, warmup_ms)
    assert summary.n == 3 and summary.errors == 1
    assert summary.metrics["hit_at_1"] == pytest.approx(1 / 3)  # the error counts as a miss
    assert summary.metrics["mrr_at_10"] == pytest.approx(0.5)
    assert summary.by_kind["api"]["hit_at_1"] == 0.5 and summary.by_kind["api"]["n"] == 2
    assert summary.by_kind["natural"]["hit_at_1"] == 0.0
    assert summary.latency_p95_ms >= summary.latency_p50_ms >= 0


def test_query_kind_from_ids() -> None:
    assert query_kind("manpages-flag-3") == "flag"
    assert query_kind("my-set-api-17") == "api"
    assert query_kind("leave-days") == "other"
