"""Per-example scoring, the summary (means, errors, latency percentiles, tokens, costs) and the Great
Expectations suite on the outputs."""

from __future__ import annotations

import pytest

from genai.embedding.encoder import Encoder
from genai.evaluation.eval_set import EvalExample
from genai.evaluation.results import (
    ExampleResult,
    fill_similarity,
    score_example,
    scores_by_example,
    summarize,
)
from genai.quality.eval_results_suite import check_results, validate_results

EXAMPLE = EvalExample(
    id="q1",
    question="Where are vectors kept?",
    reference_answer="in Qdrant",
    relevant_doc_ids=["docs/architecture.md"],
    knowledge_base="platform-docs",
)
CHUNKS = ["Vectors are kept in Qdrant, in local mode by default.", "Unrelated text about Prefect."]


def scored(answer: str = "in Qdrant", error: str | None = None, **fields: object) -> ExampleResult:
    values: dict[str, object] = {
        "latency_ms": 100.0,
        "prompt_tokens": 50,
        "completion_tokens": 5,
        "cost": 0.01,
    }
    values.update(fields)
    return score_example(
        EXAMPLE,
        answer,
        ["x.md", "docs/architecture.md", "docs/architecture.md"],
        CHUNKS,
        k=5,
        error=error,
        **values,  # type: ignore[arg-type]
    )


def test_score_example_fills_every_score_but_similarity() -> None:
    result = scored("Vectors are kept in Qdrant.")
    assert result.scores["hit_at_k"] == 1.0
    assert result.scores["mrr"] == 0.5
    assert result.scores["ndcg_at_k"] == pytest.approx(0.6309, abs=1e-4)  # 1 / log2(3)
    assert result.scores["exact_match"] == 0.0
    # [vectors are kept in qdrant] vs [in qdrant]: P = 2/5, R = 1, F1 = 0.8 / 1.4
    assert result.scores["token_f1"] == pytest.approx(0.8 / 1.4)
    assert result.scores["groundedness"] == 1.0
    assert "embedding_similarity" not in result.scores
    assert result.retrieved_doc_ids == ["x.md", "docs/architecture.md", "docs/architecture.md"]


def test_an_errored_example_scores_zero_on_answer_metrics() -> None:
    result = scored("in Qdrant", error="HTTP 503: no worker")
    assert [result.scores[m] for m in ("exact_match", "token_f1", "rouge_l", "groundedness")] == [0.0] * 4
    assert not result.correct


def test_similarity_is_filled_in_one_pass_and_zero_for_errors(packaged_encoder: Encoder) -> None:
    results = fill_similarity([scored("in Qdrant"), scored("x", error="timeout")], encoder=packaged_encoder)
    assert results[0].scores["embedding_similarity"] == pytest.approx(1.0, abs=1e-5)
    assert results[1].scores["embedding_similarity"] == 0.0


def test_summary_by_hand() -> None:
    results = [
        scored("in Qdrant", latency_ms=100.0, cost=0.01),  # correct
        scored("in Qdrant server", latency_ms=200.0, cost=0.02),  # F1 = 0.8: correct
        scored("somewhere else", latency_ms=300.0, cost=0.03),  # F1 = 0: wrong
        scored("", error="timeout", latency_ms=400.0, cost=0.0, prompt_tokens=0, completion_tokens=0),
    ]
    summary = summarize(results, k=5)
    assert summary.n == 4 and summary.errors == 1 and summary.error_rate == 0.25
    assert summary.metrics["token_f1"] == pytest.approx((1 + 0.8 + 0 + 0) / 4)
    assert summary.metrics["exact_match"] == pytest.approx(0.25)
    assert summary.metrics["hit_at_k"] == 1.0  # the errored example's retrieval still counted
    assert summary.correct == 2
    assert summary.latency_p50_ms == pytest.approx(250.0)
    assert summary.latency_p95_ms == pytest.approx(385.0)  # linear interpolation: 300 + 0.85 * 100
    assert summary.prompt_tokens == 150 and summary.completion_tokens == 15 and summary.tokens == 165
    assert summary.cost_total == pytest.approx(0.06)
    assert summary.cost_per_request == pytest.approx(0.015)
    assert summary.cost_per_correct == pytest.approx(0.03)
    flat = summary.flat()
    assert flat["token_f1"] == summary.metrics["token_f1"] and flat["error_rate"] == 0.25
    assert scores_by_example(results)["q1"] == results[-1].scores  # same id: the last one wins


def test_no_correct_answer_leaves_cost_per_correct_empty() -> None:
    summary = summarize([scored("wrong words")], k=5)
    assert summary.correct == 0 and summary.cost_per_correct is None
    assert "cost_per_correct" not in summary.flat()
    with pytest.raises(ValueError):
        summarize([], k=5)


def _result(example_id: str, answer: str = "ok", **fields: object) -> ExampleResult:
    return ExampleResult.model_validate(
        {"example_id": example_id, "question": "q", "reference_answer": "r", "answer": answer, **fields}
    )


def test_output_suite_passes_good_outputs() -> None:
    results = [_result(f"q{i}", latency_ms=100.0, cost=0.001) for i in range(5)]
    outcome, failed = check_results(results, max_p95_latency_ms=1000, max_cost_per_request=0.01)
    assert outcome.success and failed == {}
    assert validate_results(results, max_latency_ms=1000, max_cost_per_request=0.01) == []


def test_output_suite_names_the_bad_examples() -> None:
    results = [
        _result("good", latency_ms=100.0),
        _result("empty", answer="  ", latency_ms=100.0),
        _result("errored", answer="", error="timeout", latency_ms=100.0),  # empty, but it errored
        _result("pricey", latency_ms=100.0, cost=0.5),
        _result("slow", latency_ms=90_000.0),
    ]
    outcome, failed = check_results(results, max_p95_latency_ms=1000, max_cost_per_request=0.1)
    assert outcome.failed_checks == ["non_empty_answer", "p95_latency_within_bound", "cost_within_bound"]
    assert set(failed) == {"empty", "pricey", "slow"}
    assert failed["empty"] == [("non_empty_answer", "the answer is empty although the request succeeded")]
    lines = validate_results(results, max_latency_ms=1000, max_cost_per_request=0.1)
    assert (
        lines[0]
        == "non_empty_answer: 1 example(s): empty: the answer is empty although the request succeeded"
    )
    assert lines[1].startswith("p95_latency_within_bound: 1 of 5 examples took longer than 1000 ms")
    assert lines[1].endswith(": slow")
    assert lines[2].startswith("cost_within_bound: 1 example(s): pricey: cost 0.500000 USD is over 0.100000")
