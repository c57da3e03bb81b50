"""The metric names a PromQL expression reads, and the series names each exporter really serves.

Not a PromQL parser: a tokeniser that drops strings, label matchers, durations, numbers and the words
PromQL itself owns (functions, aggregations, keywords), and keeps the identifiers that are left, which in
the expressions this project writes are exactly the selectors' metric names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.registry import Collector

# Functions, aggregations and keywords of PromQL (Prometheus 2.x) this project's queries may use.
_WORDS = """
    abs absent absent_over_time avg avg_over_time bool bottomk by ceil changes clamp clamp_max clamp_min
    count count_over_time count_values day_of_month day_of_week delta deriv exp floor group
    group_left group_right histogram_quantile holt_winters hour idelta ignoring increase irate
    label_join label_replace last_over_time ln log10 log2 max max_over_time min min_over_time minute month
    offset on predict_linear quantile quantile_over_time rate resets round scalar sgn sort sort_desc sqrt
    stddev stddev_over_time stdvar sum sum_over_time time timestamp topk vector without year and or unless
    """
PROMQL_WORDS = frozenset(_WORDS.split())

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER_WORDS = frozenset({"inf", "nan", "Inf", "NaN"})


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\b\d[\w.]*", " ", text)  # numbers, 2^20, 1e3
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if word in PROMQL_WORDS or word in _NUMBER_WORDS or rest.startswith("("):
            continue
        names.add(word)
    return names


def exposed_names(collectors: Iterable[Collector]) -> set[str]:
    """The series names collectors expose: a counter's _total, a histogram's _bucket, _count and _sum."""
    names: set[str] = set()
    for collector in collectors:
        for family in collector.collect():
            names.update(_series_names(family.name, family.type))
    return names


def names_in_exposition(path: Path) -> set[str]:
    """The series names of a saved scrape's ``# TYPE`` lines (tests/observability/data)."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.update(_series_names(name.removesuffix("_total") if kind == "counter" else name, kind))
    return names


def _series_names(name: str, kind: str) -> set[str]:
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    if kind == "summary":
        return {name, f"{name}_count", f"{name}_sum"}
    return {name}
