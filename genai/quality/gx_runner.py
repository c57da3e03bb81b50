"""Run a Great Expectations suite over a pandas DataFrame and report failures row by row.

Great Expectations is imported on first use (it costs ~3 s) and one ephemeral context serves the whole
process. A suite is registered once per distinct set of expectations, so repeated batches only pay for the
validation itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

Item = TypeVar("Item")

_lock = threading.Lock()
_context: Any = None
_validations: dict[str, Any] = {}


@dataclass(frozen=True)
class Expectation:
    """One expectation, described as data so suites can be hashed, shown and rebuilt.

    ``kind`` is the Great Expectations class name (e.g. ``ExpectColumnValuesToBeBetween``); ``check`` is
    the stable name we record in quarantine entries and reports.
    """

    check: str
    kind: str
    kwargs: dict[str, Any]


@dataclass
class SuiteOutcome:
    """What a suite found: the failing row indices per check, and totals for reports."""

    suite: str
    evaluated: int
    failed_checks: list[str] = field(default_factory=list)
    failures: dict[int, list[str]] = field(default_factory=dict)  # row index -> failed checks, in order
    counts: dict[str, int] = field(default_factory=dict)  # failed check -> rows that failed it

    @property
    def success(self) -> bool:
        return not self.failed_checks


def _get_context() -> Any:
    global _context
    if _context is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # Its INFO lines (a temporary docs site per context) say nothing a data team can act on; set after
        # the import, which configures its own loggers.
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

        _context = gx.get_context(mode="ephemeral")
        _context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return _context


def _suite_key(name: str, expectations: Sequence[Expectation]) -> str:
    described = json.dumps([(e.check, e.kind, e.kwargs) for e in expectations], sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(described.encode()).hexdigest()[:12]}"


def _validation_for(name: str, expectations: Sequence[Expectation]) -> tuple[Any, str]:
    key = _suite_key(name, expectations)
    with _lock:
        if key not in _validations:
            import great_expectations as gx

            context = _get_context()
            source = context.data_sources.add_pandas(f"src-{key}")
            batch = source.add_dataframe_asset(f"asset-{key}").add_batch_definition_whole_dataframe("all")
            suite = gx.ExpectationSuite(name=key)
            for expectation in expectations:
                expectation_class = getattr(gx.expectations, expectation.kind)
                meta = {"check": expectation.check}
                suite.add_expectation(expectation_class(**expectation.kwargs, meta=meta))
            suite = context.suites.add(suite)
            definition = gx.ValidationDefinition(name=f"validate-{key}", data=batch, suite=suite)
            _validations[key] = context.validation_definitions.add(definition)
        return _validations[key], key


def run_suite(
    name: str, expectations: Sequence[Expectation], frame: pd.DataFrame, first_rows: int | None = None
) -> SuiteOutcome:
    """Validate ``frame`` (which must have a 0..n-1 RangeIndex) and map failures back to its rows: every
    failing row, or with ``first_rows`` only the first that many per check (a large table whose report
    names a few rows and counts the rest; ``counts`` has every check's total either way)."""
    outcome = SuiteOutcome(suite=name, evaluated=len(expectations))
    if frame.empty:
        return outcome
    validation, _ = _validation_for(name, expectations)
    result_format: dict[str, Any] = {"result_format": "COMPLETE"}
    listed = "unexpected_index_list"
    if first_rows is not None:
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": first_rows}
        listed = "partial_unexpected_index_list"
    result = validation.run(batch_parameters={"dataframe": frame}, result_format=result_format)
    for expectation_result in result.results:
        check = expectation_result.expectation_config.meta["check"]
        error = expectation_result.exception_info or {}
        if error.get("raised_exception"):
            raise RuntimeError(f"quality check {check} could not run: {error.get('exception_message')}")
        if expectation_result.success:
            continue
        outcome.failed_checks.append(check)
        outcome.counts[check] = int(expectation_result.result.get("unexpected_count") or 0)
        for row in expectation_result.result.get(listed) or []:
            outcome.failures.setdefault(int(row), []).append(check)
    order = {e.check: i for i, e in enumerate(expectations)}
    outcome.failed_checks.sort(key=order.__getitem__)
    for checks in outcome.failures.values():
        checks.sort(key=order.__getitem__)
    return outcome


def failures_by_doc(
    outcome: SuiteOutcome,
    items: Sequence[Item],
    doc_id_of: Callable[[Item], str],
    explain: Callable[[str, Item], str],
) -> dict[str, list[tuple[str, str]]]:
    """Group an outcome's failing rows by document: doc_id -> distinct (check, reason) pairs, in order."""
    failed: dict[str, dict[tuple[str, str], None]] = {}
    for row in sorted(outcome.failures):
        item = items[row]
        pairs = failed.setdefault(doc_id_of(item), {})
        for check in outcome.failures[row]:
            pairs[(check, explain(check, item))] = None
    return {doc_id: list(pairs) for doc_id, pairs in failed.items()}


def merge_failures(pairs: Sequence[tuple[str, str]], most_reasons: int = 3) -> tuple[str, str]:
    """One document's (check, reason) pairs as one quarantine entry: each failed check named once, in
    order, and each check's reasons once (a check failed by many chunks lists the first few and a count)."""
    by_check: dict[str, list[str]] = {}
    for check, reason in pairs:
        reasons = by_check.setdefault(check, [])
        if reason not in reasons:
            reasons.append(reason)
    parts = []
    for reasons in by_check.values():
        shown = "; ".join(reasons[:most_reasons])
        hidden = len(reasons) - most_reasons
        parts.append(shown + (f"; and {hidden} more like it" if hidden > 0 else ""))
    return ", ".join(by_check), "; ".join(parts)
