"""A cost report as markdown (the Prefect artifact, the file beside the CSV): checks first, then totals,
budgets, breakdowns, unit costs, top lists, GPU shares and what has no price."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genai.reports.model import CostReport, Group

TITLES = {
    "tenant": "tenant",
    "key": "API key",
    "model": "model",
    "version": "model version",
    "route": "route",
    "endpoint": "endpoint",
    "upstream": "upstream",
}


def usd(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"${value:,.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def _cell(value: Any) -> str:
    return ("-" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def table(heads: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    if not rows:
        return [*lines, "| (none) |" + " |" * (len(heads) - 1)]
    return lines + ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]


def _group_row(g: Group) -> list[Any]:
    return [
        g.value or "(none)",
        g.requests,
        g.errors,
        g.unpriced,
        usd(g.cost_usd),
        usd(g.previous_cost_usd),
        pct(g.change_pct),
        g.prompt_tokens,
        g.completion_tokens,
        g.cached_tokens,
        usd(g.cost_per_1k_requests),
    ]


GROUP_HEADS = ("requests", "errors", "unpriced", "cost", "previous", "change", "input", "output", "cached")


def _groups(title: str, groups: list[Group], top: int) -> list[str]:
    heads = [title, *GROUP_HEADS, "per 1k req"]
    more = ["", f"{len(groups) - top} more in the CSV."] if len(groups) > top else []
    return ["", f"### By {title}", "", *table(heads, [_group_row(g) for g in groups[:top]]), *more]


def _checks(report: CostReport, chart: str | None) -> list[str]:
    lines = ["", "## Ledger checks", ""]
    if report.quality_failures:
        lines += ["**The ledger suite failed**: the numbers below may be wrong.", ""]
        lines += [f"- {_cell(failure)}" for failure in report.quality_failures]
    else:
        lines.append("Passed: no negative costs, no unattributed answers, no gaps in busy hours.")
    if chart:
        lines += ["", f"Chart: [{Path(chart).name}]({Path(chart).as_uri()}) (`{chart}`)"]
    return lines


def _totals(report: CostReport) -> list[str]:
    t, f = report.totals, report.forecast
    versus = f"{pct(report.change_pct)} vs {report.previous_period}: {usd(report.previous.cost_usd)}"
    percentiles = f"{usd(report.cost_p50_usd, 6)} / {usd(report.cost_p95_usd, 6)}"
    month = f"{usd(f.month_to_date_usd)} in {f.days_elapsed:.1f} of {f.days_in_month:.0f} days; {f.method}"
    rows = [
        ["cost", f"{usd(t.cost_usd)} ({versus})"],
        [
            "requests",
            f"{t.requests:,} ({t.priced_requests:,} priced, {t.unpriced_requests:,} of unknown cost)",
        ],
        ["tokens in / out / cached", f"{t.prompt_tokens:,} / {t.completion_tokens:,} / {t.cached_tokens:,}"],
        ["cost per request p50 / p95", f"{percentiles} ({report.percentile_method})"],
        ["cost per 1k requests", usd(1000 * t.cost_usd / t.requests if t.requests else 0.0)],
        ["errors (status >= 400)", f"{t.errors:,} requests, {usd(t.error_cost_usd)}"],
        ["retried (attempts > 1, response retries)", f"{t.retried:,} requests, {usd(t.retry_cost_usd)}"],
        ["cache savings", f"{t.cache_hits:,} hits, {t.saved_tokens:,} tokens, {usd(t.saved_cost_usd)}"],
        [f"forecast {f.month}", f"{usd(f.forecast_usd)} ({month})"],
    ]
    return ["", "## Totals", "", *table(["", "value"], rows)]


def _budgets(report: CostReport) -> list[str]:
    rows = [
        [b.scope, b.name, b.tenant, b.budget_period, usd(b.spent_usd), usd(b.budget_usd, 2),
         f"{b.percent:.1f}%", usd(b.forecast_usd)]
        for b in report.budgets
    ]  # fmt: skip
    heads = ["scope", "name", "tenant", "period", "spent", "budget", "used", "forecast"]
    return ["", "## Budgets", "", *table(heads, rows)]


def to_markdown(report: CostReport, top: int = 10, chart: str | None = None) -> str:
    """The whole report as one markdown document."""
    scope = f"tenants {', '.join(report.tenants)}" if report.tenants else "every tenant"
    lines = [
        f"# Cost report {report.period} ({report.kind})",
        "",
        f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC, {scope}; "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC.",
    ]
    lines += _checks(report, chart) + _totals(report) + _budgets(report) + ["", "## Breakdowns"]
    for dimension, groups in report.breakdowns.items():
        lines += _groups(TITLES[dimension], groups, top)
    lines += _unit_costs(report) + _top_lists(report) + _gpu_and_unpriced(report)
    return "\n".join(lines) + "\n"


def _unit_costs(report: CostReport) -> list[str]:
    rows = [
        [u.model_version, u.requests, usd(u.cost_usd), usd(u.per_1k_requests),
         "-" if u.correct_rate is None else f"{u.correct_rate:.1%}", usd(u.per_correct_answer, 6)]
        for u in report.unit_costs
    ]  # fmt: skip
    heads = ["version", "requests", "cost", "per 1k requests", "correct (latest eval)", "per correct answer"]
    return ["", "## Unit costs per model version", "", *table(heads, rows)]


def _top_lists(report: CostReport) -> list[str]:
    lines = ["", "## Top spenders", ""]
    lines += table(["tenant", "cost"], [[g.value or "(none)", usd(g.cost_usd)] for g in report.top_tenants])
    lines += ["", *table(["API key", "cost"], [[g.value, usd(g.cost_usd)] for g in report.top_keys])]
    rows = [
        [e.request_id, f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.tenant, e.key_prefix,
         e.model_version or e.model, e.status, f"{e.prompt_tokens}/{e.completion_tokens}", usd(e.cost_usd, 6)]
        for e in report.expensive
    ]  # fmt: skip
    heads = ["request", "when", "tenant", "key", "model", "status", "tokens in/out", "cost"]
    return [*lines, "", "## Most expensive requests", "", *table(heads, rows)]


def _gpu_and_unpriced(report: CostReport) -> list[str]:
    gpu = [
        [g.pool, g.upstream, g.tenant, g.model, g.tokens, f"{g.share:.1%}", f"{g.gpu_hours:.2f}",
         usd(g.cost_usd)]
        for g in report.gpu
    ]  # fmt: skip
    heads = ["pool", "upstream", "tenant", "model", "tokens", "share", "GPU hours", "cost"]
    lines = ["", "## GPU hours of self-hosted pools, shared by tokens", "", *table(heads, gpu)]
    unpriced = [
        [g.value, g.requests, g.errors, g.prompt_tokens, g.completion_tokens] for g in report.unpriced
    ]
    heads = ["model", "requests", "errors", "input tokens", "output tokens"]
    return [*lines, "", "## Records of unknown cost (never counted as 0)", "", *table(heads, unpriced)]
