"""The evaluation output suite: what a candidate's per-example results must satisfy to be trusted.

Checks, in report order: every example that did not error has a non-empty answer; no latency or cost is
negative or missing; the p95 latency is within the bound (``registry.evaluation.max_p95_latency_ms``);
each example's cost is within ``registry.evaluation.max_cost_per_request``. A failure is reported (the
evaluation flow records it beside the run), not raised: bad outputs are a finding about the candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from genai.quality.gx_runner import Expectation, SuiteOutcome, failures_by_doc, run_suite

if TYPE_CHECKING:
    from genai.evaluation.results import ExampleResult

SUITE_NAME = "eval_results"


def result_expectations(max_p95_latency_ms: float, max_cost_per_request: float) -> list[Expectation]:
    """The suite, in the order failures are reported."""
    return [
        # Errored rows carry a null here, and Great Expectations leaves nulls out of a column map check.
        Expectation(
            "non_empty_answer", "ExpectColumnValuesToBeBetween", {"column": "answer_chars", "min_value": 1}
        ),
        Expectation(
            "latency_recorded", "ExpectColumnValuesToBeBetween", {"column": "latency_ms", "min_value": 0}
        ),
        # At least 95% of the examples within the bound: the p95 latency (by nearest rank) is. Great
        # Expectations' own quantile check cannot store its result (a numpy bool in its details).
        Expectation(
            "p95_latency_within_bound",
            "ExpectColumnValuesToBeBetween",
            {"column": "latency_ms", "max_value": max_p95_latency_ms, "mostly": 0.95},
        ),
        Expectation(
            "cost_within_bound",
            "ExpectColumnValuesToBeBetween",
            {"column": "cost", "min_value": 0, "max_value": max_cost_per_request},
        ),
    ]


def explain(check: str, result: ExampleResult, max_cost_per_request: float) -> str:
    """Why example ``result`` failed ``check``."""
    if check == "non_empty_answer":
        return "the answer is empty although the request succeeded"
    if check == "latency_recorded":
        return f"latency {result.latency_ms} ms is not a duration"
    if check == "p95_latency_within_bound":
        return f"latency {result.latency_ms:.0f} ms is over the p95 bound"
    if check == "cost_within_bound":
        return (
            f"cost {result.cost:.6f} USD is over {max_cost_per_request:.6f} USD "
            "(registry.evaluation.max_cost_per_request)"
        )
    return check


def check_results(
    results: Sequence[ExampleResult], max_p95_latency_ms: float, max_cost_per_request: float
) -> tuple[SuiteOutcome, dict[str, list[tuple[str, str]]]]:
    """Run the suite; returns the outcome and, per failing example id, its (check, reason) pairs (when
    the p95 check fails, every example over the bound is named)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "example_id": [r.example_id for r in results],
            "answer_chars": pd.array(
                [None if r.error is not None else len(r.answer.strip()) for r in results], dtype="Int64"
            ),
            "latency_ms": [float(r.latency_ms) for r in results],
            "cost": [float(r.cost) for r in results],
        }
    )
    expectations = result_expectations(max_p95_latency_ms, max_cost_per_request)
    outcome = run_suite(SUITE_NAME, expectations, frame)
    failed = failures_by_doc(
        outcome,
        results,
        lambda item: item.example_id,
        lambda check, item: explain(check, item, max_cost_per_request),
    )
    return outcome, failed


def validate_results(
    results: Sequence[ExampleResult], *, max_latency_ms: float, max_cost_per_request: float
) -> list[str]:
    """The suite's failures as sentences a person can act on (empty: every check passed).

    ``max_latency_ms`` bounds the p95 latency. One line per failed check, naming the examples at fault
    (the first few, with a count).
    """
    outcome, failed = check_results(results, max_latency_ms, max_cost_per_request)
    lines = []
    for check in outcome.failed_checks:
        examples = [
            (example_id, reason) for example_id, pairs in failed.items() for c, reason in pairs if c == check
        ]
        if check == "p95_latency_within_bound":
            names = ", ".join(example_id for example_id, _ in examples[:5])
            more = f" and {len(examples) - 5} more" if len(examples) > 5 else ""
            lines.append(
                f"{check}: {len(examples)} of {len(results)} examples took longer than "
                f"{max_latency_ms:.0f} ms, more than the 5% the p95 bound allows "
                f"(registry.evaluation.max_p95_latency_ms): {names}{more}"
            )
            continue
        shown = "; ".join(f"{example_id}: {reason}" for example_id, reason in examples[:3])
        more = f"; and {len(examples) - 3} more" if len(examples) > 3 else ""
        lines.append(f"{check}: {len(examples)} example(s): {shown}{more}")
    return lines
