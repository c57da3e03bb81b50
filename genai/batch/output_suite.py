"""The batch output suite: what the results must satisfy before they are published.

One row per output line: each custom_id once, each line either an answer or an error (never both, never
neither), a known HTTP status, and a 2xx answer with a body of its endpoint's shape (choices for
completions, data for embeddings). A failure is reported in the run's summary, not raised: the results
are still the user's, and the summary says what was wrong with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genai.batch.format import BatchOutputLine
from genai.quality.gx_runner import Expectation, run_suite

SUITE_NAME = "batch_output"


def output_expectations() -> list[Expectation]:
    return [
        Expectation("unique_custom_id", "ExpectColumnValuesToBeUnique", {"column": "custom_id"}),
        Expectation(
            "answer_or_error",
            "ExpectColumnValuesToBeBetween",
            {"column": "answer_or_error", "min_value": 1, "max_value": 1},
        ),
        Expectation(
            "http_status",
            "ExpectColumnValuesToBeBetween",
            {"column": "status_code", "min_value": 0, "max_value": 599},
        ),
        Expectation("answer_shape", "ExpectColumnValuesToBeBetween", {"column": "shape_ok", "min_value": 1}),
    ]


def _shape_ok(line: BatchOutputLine) -> bool:
    if not line.succeeded or line.response is None:
        return True  # only answers have a shape to check
    body: Any = line.response.body
    if not isinstance(body, dict):
        return False
    return bool(body.get("choices")) or isinstance(body.get("data"), list)


def check_output(lines: Sequence[BatchOutputLine], expected: int) -> list[str]:
    """Failures as sentences (empty: every check passed), including a count that does not match the
    requests served (``expected``)."""
    import pandas as pd

    failures = []
    if len(lines) != expected:
        failures.append(f"{len(lines)} output lines for {expected} requests served")
    if not lines:
        return failures
    frame = pd.DataFrame(
        [
            {
                "custom_id": line.custom_id,
                "answer_or_error": int(line.response is not None) + int(line.error is not None),
                "status_code": line.response.status_code if line.response else 0,
                "shape_ok": int(_shape_ok(line)),
            }
            for line in lines
        ]
    )
    outcome = run_suite(SUITE_NAME, output_expectations(), frame, first_rows=3)
    for check in outcome.failed_checks:
        ids = [lines[row].custom_id for row, checks in sorted(outcome.failures.items()) if check in checks][
            :3
        ]
        failures.append(f"{check}: {outcome.counts.get(check, 0)} line(s), e.g. custom_id {', '.join(ids)}")
    return failures
