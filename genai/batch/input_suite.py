"""The batch input suite: what every request line must satisfy before it is sent.

It runs over one row per line of the input file (``parse_lines``): the line parsed as an OpenAI batch
request, its ``custom_id`` not used by an earlier line, its ``url`` the batch's endpoint, a model named,
and a body of the endpoint's shape (messages for chat, a prompt for completions, an input for
embeddings). A failing line is reported with its line number and why; the other lines are served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from genai.batch.format import BatchRequestLine, ParsedLine
from genai.quality.gx_runner import Expectation, run_suite

SUITE_NAME = "batch_input"

# The body field each endpoint cannot do without.
REQUIRED_FIELD = {"/v1/chat/completions": "messages", "/v1/completions": "prompt", "/v1/embeddings": "input"}


@dataclass(frozen=True)
class BadLine:
    """A line that will not be sent: where it is, its custom_id if it had one, and why."""

    number: int
    custom_id: str | None
    checks: list[str]
    reason: str


@dataclass
class InputCheck:
    """The lines to serve (in file order) and the lines refused."""

    good: list[tuple[int, BatchRequestLine]]
    bad: list[BadLine]


def input_expectations(endpoints: Sequence[str]) -> list[Expectation]:
    """The suite, in the order failures are reported."""
    return [
        Expectation("well_formed", "ExpectColumnValuesToBeBetween", {"column": "parsed", "min_value": 1}),
        Expectation(
            "unique_custom_id",
            "ExpectColumnValuesToBeBetween",
            {"column": "seen_before", "min_value": 0, "max_value": 0},
        ),
        Expectation(
            "endpoint", "ExpectColumnValuesToBeInSet", {"column": "url", "value_set": list(endpoints)}
        ),
        Expectation(
            "model_named", "ExpectColumnValuesToBeBetween", {"column": "model_chars", "min_value": 1}
        ),
        Expectation("body_shape", "ExpectColumnValuesToBeBetween", {"column": "shape_ok", "min_value": 1}),
    ]


def _shape_ok(url: str, body: dict[str, Any]) -> bool:
    value = body.get(REQUIRED_FIELD.get(url, ""))
    if url == "/v1/chat/completions":
        return isinstance(value, list) and bool(value) and all(isinstance(m, dict) for m in value)
    return isinstance(value, (str, list)) and bool(value)


def _rows(lines: Sequence[ParsedLine]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    rows = []
    for line in lines:
        raw = line.raw or {}
        custom_id = raw.get("custom_id")
        body = raw.get("body") if isinstance(raw.get("body"), dict) else {}
        url = str(raw.get("url") or "")
        model = body.get("model") if isinstance(body, dict) else None
        duplicate = isinstance(custom_id, str) and custom_id in seen
        if isinstance(custom_id, str):
            seen.add(custom_id)
        rows.append(
            {
                "line": line.number,
                "parsed": int(line.request is not None),
                "seen_before": int(duplicate),
                "url": url,
                "model_chars": len(model) if isinstance(model, str) else 0,
                "shape_ok": int(_shape_ok(url, body or {})),
            }
        )
    return rows


def explain(check: str, line: ParsedLine, endpoints: Sequence[str]) -> str:
    raw = line.raw or {}
    if check == "well_formed":
        return line.problem or "not a batch request line"
    if check == "unique_custom_id":
        return f"custom_id {raw.get('custom_id')!r} was used by an earlier line"
    if check == "endpoint":
        return f"url {raw.get('url')!r} is not this batch's endpoint ({', '.join(endpoints)})"
    if check == "model_named":
        return "body.model is missing or empty"
    if check == "body_shape":
        return f"body.{REQUIRED_FIELD.get(str(raw.get('url')), 'messages')} is missing or empty"
    return check


def check_input(lines: Sequence[ParsedLine], endpoints: Sequence[str]) -> InputCheck:
    """Run the suite over the parsed lines; split them into the ones to serve and the ones refused."""
    import pandas as pd

    if not lines:
        return InputCheck([], [])
    frame = pd.DataFrame(_rows(lines))
    outcome = run_suite(SUITE_NAME, input_expectations(endpoints), frame)
    good: list[tuple[int, BatchRequestLine]] = []
    bad: list[BadLine] = []
    for index, line in enumerate(lines):
        checks = outcome.failures.get(index, [])
        if not checks and line.request is not None:
            good.append((line.number, line.request))
            continue
        if line.request is None:
            checks = ["well_formed"]  # the other checks only echo why an unreadable line failed
        reason = "; ".join(explain(check, line, endpoints) for check in checks)
        custom_id = (line.raw or {}).get("custom_id")
        bad.append(BadLine(line.number, custom_id if isinstance(custom_id, str) else None, checks, reason))
    return InputCheck(good, bad)
