"""The promotion gates: what a candidate's evaluation must show before its aliases may move.

``evaluate_gates`` checks, in this order, each with a result and a detail that gives the numbers:

* ``min_score.<metric>``, one per ``gates.min_scores`` entry: the candidate's mean is at least the minimum;
* ``max_error_rate``: the share of errored examples is at most the bound;
* ``max_p95_latency``: the p95 latency is within ``max_p95_latency_ms`` (passes, saying so, when None);
* ``max_cost_per_request``: likewise for the cost per request;
* ``no_regression``: on ``regression_metric``, the lower bound of the paired bootstrap interval of
  (candidate - champion) over the examples both answered is above ``-tolerance``. With no champion
  evaluated on the set it passes with the detail "no champion evaluated on this set".

The report passes only when every gate passes. The settings come from ``genai.settings`` (the kernel does
not import the registry); reading and writing results is the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, computed_field

from genai.evaluation.bootstrap import paired_bootstrap_ci
from genai.evaluation.results import EvalSummary
from genai.settings import GateSettings

NO_CHAMPION = "no champion evaluated on this set"

# Per-example scores as either example id -> value of the regression metric, or example id -> all scores.
ExampleScores = Mapping[str, float] | Mapping[str, Mapping[str, float]]


class GateResult(BaseModel):
    """One gate's verdict and the numbers behind it."""

    name: str
    passed: bool
    detail: str

    def tag_value(self) -> str:
        """How the registry records it: ``pass: detail`` or ``fail: detail``."""
        return f"{'pass' if self.passed else 'fail'}: {self.detail}"


class GateReport(BaseModel):
    """Every gate's result; ``passed`` only when all passed."""

    passed: bool
    results: list[GateResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> list[str]:
        """The names of the gates that failed, in order."""
        return [result.name for result in self.results if not result.passed]

    def summary(self) -> str:
        """One line: passed, or which gates failed."""
        if self.passed:
            return f"all {len(self.results)} gates passed"
        return "failed gates: " + ", ".join(self.failed)


def _metric_values(scores: ExampleScores, metric: str) -> dict[str, float]:
    """example id -> the metric's value; examples whose scores lack the metric are left out (not zero:
    a score that was never measured must not count as a loss)."""
    values: dict[str, float] = {}
    for example_id, value in scores.items():
        if not isinstance(value, Mapping):
            values[example_id] = float(value)
        elif metric in value:
            values[example_id] = float(value[metric])
    return values


def _min_score_gates(candidate: EvalSummary, gates: GateSettings) -> list[GateResult]:
    results = []
    for metric, minimum in gates.min_scores.items():
        name = f"min_score.{metric}"
        if metric not in candidate.metrics:
            known = ", ".join(sorted(candidate.metrics)) or "none"
            detail = f"{metric} was not measured (measured: {known})"
            results.append(GateResult(name=name, passed=False, detail=detail))
            continue
        value = candidate.metrics[metric]
        verdict = ">=" if value >= minimum else "<"
        results.append(
            GateResult(
                name=name, passed=value >= minimum, detail=f"{metric} {value:.4f} {verdict} {minimum:.4f}"
            )
        )
    return results


def _budget_gate(name: str, value: float, bound: float | None, what: str, unit: str) -> GateResult:
    if bound is None:
        return GateResult(name=name, passed=True, detail=f"{what} {value:.4g}{unit}; no budget set")
    passed = value <= bound
    verdict = "<=" if passed else ">"
    return GateResult(
        name=name, passed=passed, detail=f"{what} {value:.4g}{unit} {verdict} {bound:.4g}{unit}"
    )


def _regression_gate(
    candidate_scores: ExampleScores,
    champion: EvalSummary | None,
    champion_scores: ExampleScores | None,
    gates: GateSettings,
) -> GateResult:
    name, metric = "no_regression", gates.regression_metric
    if champion is None or champion_scores is None:
        return GateResult(name=name, passed=True, detail=NO_CHAMPION)
    ours, theirs = _metric_values(candidate_scores, metric), _metric_values(champion_scores, metric)
    try:
        ci = paired_bootstrap_ci(
            ours, theirs, gates.bootstrap_samples, gates.confidence, gates.bootstrap_seed
        )
    except ValueError as exc:
        return GateResult(
            name=name, passed=False, detail=f"{metric}: cannot compare with the champion: {exc}"
        )
    passed = ci.low > -gates.tolerance
    common = sorted(set(ours) & set(theirs))
    mean_ours = sum(ours[i] for i in common) / len(common)
    mean_theirs = sum(theirs[i] for i in common) / len(common)
    detail = (
        f"{metric}: candidate {mean_ours:.4f} vs champion {mean_theirs:.4f} on {ci.n} paired examples; "
        f"mean difference {ci.mean_diff:+.4f}, {ci.confidence:.0%} CI [{ci.low:+.4f}, {ci.high:+.4f}] "
        f"({ci.samples} resamples); {'passes' if passed else 'fails'}: the low bound must be above "
        f"{-gates.tolerance:+.4f}"
    )
    return GateResult(name=name, passed=passed, detail=detail)


def evaluate_gates(
    candidate: EvalSummary,
    candidate_scores: ExampleScores,
    champion: EvalSummary | None,
    champion_scores: ExampleScores | None,
    gates: GateSettings,
) -> GateReport:
    """Check ``candidate`` against every gate (see the module docstring).

    ``candidate_scores`` and ``champion_scores`` are per-example scores keyed by example id: either the
    regression metric's value or all of an example's scores (``results.scores_by_example``).
    """
    results = _min_score_gates(candidate, gates)
    results.append(
        GateResult(
            name="max_error_rate",
            passed=candidate.error_rate <= gates.max_error_rate,
            detail=f"{candidate.errors} of {candidate.n} examples errored ({candidate.error_rate:.1%}); "
            f"the most allowed is {gates.max_error_rate:.1%}",
        )
    )
    results.append(
        _budget_gate(
            "max_p95_latency", candidate.latency_p95_ms, gates.max_p95_latency_ms, "p95 latency", " ms"
        )
    )
    results.append(
        _budget_gate(
            "max_cost_per_request",
            candidate.cost_per_request,
            gates.max_cost_per_request,
            "cost per request",
            " USD",
        )
    )
    results.append(_regression_gate(candidate_scores, champion, champion_scores, gates))
    return GateReport(passed=all(result.passed for result in results), results=results)
