"""The promotion gates: each gate's pass and fail path, with details that give the numbers."""

from __future__ import annotations

from genai.evaluation.gates import NO_CHAMPION, GateReport, GateResult, evaluate_gates
from genai.evaluation.results import EvalSummary
from genai.settings import GateSettings


def summary(**fields: object) -> EvalSummary:
    values: dict[str, object] = {
        "metrics": {"token_f1": 0.6, "hit_at_k": 0.9},
        "k": 5,
        "n": 40,
        "errors": 0,
        "error_rate": 0.0,
        "correct": 24,
        "latency_p50_ms": 100.0,
        "latency_p95_ms": 300.0,
        "prompt_tokens": 4000,
        "completion_tokens": 400,
        "tokens": 4400,
        "cost_total": 0.04,
        "cost_per_request": 0.001,
        "cost_per_correct": 0.04 / 24,
    }
    values.update(fields)
    return EvalSummary.model_validate(values)


def per_example(values: list[float]) -> dict[str, dict[str, float]]:
    return {f"q{i}": {"token_f1": v, "hit_at_k": 1.0} for i, v in enumerate(values)}


GATES = GateSettings(
    min_scores={"token_f1": 0.5, "hit_at_k": 0.8},
    max_error_rate=0.05,
    regression_metric="token_f1",
    tolerance=0.02,
    max_p95_latency_ms=1000.0,
    max_cost_per_request=0.01,
)
GOOD = per_example([1.0, 0.5, 0.0, 1.0] * 10)


def by_name(report: GateReport) -> dict[str, GateResult]:
    return {result.name: result for result in report.results}


def test_a_good_candidate_without_a_champion_passes_every_gate() -> None:
    report = evaluate_gates(summary(), GOOD, None, None, GATES)
    assert report.passed and report.failed == []
    names = [result.name for result in report.results]
    assert names == [
        "min_score.token_f1",
        "min_score.hit_at_k",
        "max_error_rate",
        "max_p95_latency",
        "max_cost_per_request",
        "no_regression",
    ]
    details = {result.name: result.detail for result in report.results}
    assert details["no_regression"] == NO_CHAMPION
    assert details["min_score.token_f1"] == "token_f1 0.6000 >= 0.5000"
    assert details["max_p95_latency"] == "p95 latency 300 ms <= 1000 ms"
    assert report.summary() == "all 6 gates passed"
    assert report.model_dump()["failed"] == []


def test_each_threshold_gate_fails_with_its_numbers() -> None:
    bad = summary(
        metrics={"token_f1": 0.4},  # under 0.5, and hit_at_k not measured
        errors=4,
        error_rate=0.1,
        latency_p95_ms=2500.0,
        cost_per_request=0.02,
    )
    report = evaluate_gates(bad, GOOD, None, None, GATES)
    assert not report.passed
    assert report.failed == [
        "min_score.token_f1",
        "min_score.hit_at_k",
        "max_error_rate",
        "max_p95_latency",
        "max_cost_per_request",
    ]
    details = {result.name: result.detail for result in report.results}
    assert details["min_score.token_f1"] == "token_f1 0.4000 < 0.5000"
    assert details["min_score.hit_at_k"] == "hit_at_k was not measured (measured: token_f1)"
    assert details["max_error_rate"] == "4 of 40 examples errored (10.0%); the most allowed is 5.0%"
    assert details["max_p95_latency"] == "p95 latency 2500 ms > 1000 ms"
    assert details["max_cost_per_request"] == "cost per request 0.02 USD > 0.01 USD"
    assert report.summary().startswith("failed gates: min_score.token_f1, min_score.hit_at_k")
    assert by_name(report)["max_error_rate"].tag_value().startswith("fail: 4 of 40")


def test_budgets_set_to_none_pass_and_say_so() -> None:
    gates = GATES.model_copy(update={"max_p95_latency_ms": None, "max_cost_per_request": None})
    report = evaluate_gates(summary(latency_p95_ms=99_999.0), GOOD, None, None, gates)
    details = {result.name: result.detail for result in report.results}
    assert report.passed
    assert details["max_p95_latency"] == "p95 latency 1e+05 ms; no budget set"


def test_no_regression_against_a_clearly_worse_champion_passes() -> None:
    champion = per_example([0.0, 0.5, 0.0, 0.5] * 10)
    report = evaluate_gates(summary(), GOOD, summary(metrics={"token_f1": 0.25}), champion, GATES)
    result = by_name(report)["no_regression"]
    assert report.passed
    assert result.detail.startswith(
        "token_f1: candidate 0.6250 vs champion 0.2500 on 40 paired examples; mean difference +0.3750"
    )
    assert "the low bound must be above -0.0200" in result.detail


def test_a_regression_beyond_the_tolerance_fails() -> None:
    champion = per_example([1.0, 1.0, 0.5, 1.0] * 10)
    report = evaluate_gates(summary(), GOOD, summary(), champion, GATES)
    assert report.failed == ["no_regression"]
    assert "fails: the low bound must be above -0.0200" in by_name(report)["no_regression"].detail


def test_a_small_noisy_lead_does_not_pass_and_plain_float_scores_work() -> None:
    # Ten examples, the candidate ahead by 0.1 on average with wins and losses: not enough to promote.
    candidate = {f"q{i}": v for i, v in enumerate([1, 1, 1, 0, 0, 1, 1, 0, 1, 0])}
    champion = {f"q{i}": v for i, v in enumerate([0, 0, 0, 1, 1, 1, 1, 0, 1, 0])}
    report = evaluate_gates(summary(), candidate, summary(), champion, GATES)
    assert report.failed == ["no_regression"]


def test_no_common_example_with_the_champion_fails_the_regression_gate() -> None:
    report = evaluate_gates(summary(), GOOD, summary(), {"other": {"token_f1": 1.0}}, GATES)
    assert report.failed == ["no_regression"]
    assert "cannot compare with the champion: the two candidates have no example in common" in (
        by_name(report)["no_regression"].detail
    )


def test_examples_without_the_regression_metric_are_not_compared() -> None:
    champion = {f"q{i}": {"hit_at_k": 1.0} for i in range(40)}  # token_f1 never measured
    report = evaluate_gates(summary(), GOOD, summary(), champion, GATES)
    assert report.failed == ["no_regression"]
    assert "no example in common" in by_name(report)["no_regression"].detail
