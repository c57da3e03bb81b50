"""The ledger suite: what the usage ledger extract of a report period must satisfy before its numbers are
trusted (genai/reports/extract.py builds the extract).

Checks, in report order:

- ``no_negative_cost``: no record costs less than 0 (a NULL cost is an unpriced model, listed by the
  report itself, not a failure here);
- ``no_negative_saving``: no cache saving is below 0;
- ``known_model``: every answered request (2xx) names a model, and, when the extract was given the names
  the platform knows (settings routes and prices, registered models), one of those or a registered
  version: a 2xx without one was served by something the ledger cannot attribute;
- ``no_gap_in_busy_hours``: between two busy hours, no silence between two consecutive records is longer
  than ``reports.gap_seconds`` (records lost on the way are the likely reason).

A failure is a finding the report shows, not an exception: the flow still publishes the numbers, beside
the failures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from genai.quality.gx_runner import Expectation, SuiteOutcome, run_suite

if TYPE_CHECKING:
    import pandas as pd

SUITE_NAME = "ledger"
SHOWN = 3  # records named per failed check; the rest are counted


def ledger_expectations(gap_seconds: float) -> list[Expectation]:
    between, in_set = "ExpectColumnValuesToBeBetween", "ExpectColumnValuesToBeInSet"
    return [
        Expectation("no_negative_cost", between, {"column": "cost_usd", "min_value": 0}),
        Expectation("no_negative_saving", between, {"column": "saved_cost_usd", "min_value": 0}),
        # Non-2xx rows carry a null here (the extract computes it), and Great Expectations leaves nulls
        # out of a column map check.
        Expectation("known_model", in_set, {"column": "model_known", "value_set": [1]}),
        Expectation("no_gap_in_busy_hours", between, {"column": "busy_gap_s", "max_value": gap_seconds}),
    ]


def explain(check: str, row: pd.Series, gap_seconds: float) -> str:
    """Why one record failed ``check``."""
    if check == "no_negative_cost":
        return f"{row['request_id']}: cost {row['cost_usd']:.6f} USD"
    if check == "no_negative_saving":
        return f"{row['request_id']}: saved {row['saved_cost_usd']:.6f} USD"
    if check == "known_model":
        model = row["model"] if isinstance(row["model"], str) else None
        return f"{row['request_id']}: status {row['status']} with model {model!r}"
    if check == "no_gap_in_busy_hours":
        at = datetime.fromtimestamp(float(row["at_s"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"{row['busy_gap_s']:.0f} s without a record before {row['request_id']} at {at} UTC "
            f"(more than {gap_seconds:.0f} s, reports.gap_seconds)"
        )
    return str(row["request_id"])


def check_ledger(frame: pd.DataFrame, *, gap_seconds: float) -> tuple[SuiteOutcome, list[str]]:
    """Run the suite on the extract (genai.reports.extract.ledger_extract); the outcome and one sentence
    per failed check: how many records failed it, and the first few."""
    checked = frame[["cost_usd", "saved_cost_usd", "model_known", "busy_gap_s"]].reset_index(drop=True)
    outcome = run_suite(SUITE_NAME, ledger_expectations(gap_seconds), checked, first_rows=SHOWN)
    lines = []
    for check in outcome.failed_checks:
        rows = [index for index, checks in sorted(outcome.failures.items()) if check in checks]
        shown = "; ".join(explain(check, frame.iloc[index], gap_seconds) for index in rows[:SHOWN])
        count = outcome.counts.get(check, len(rows))
        more = f"; and {count - SHOWN} more" if count > SHOWN else ""
        lines.append(f"{check}: {count} record(s): {shown}{more}")
    return outcome, lines
