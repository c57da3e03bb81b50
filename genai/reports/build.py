"""``build_report``: one cost report for a period, every number from the database.

The caller passes what the kernel may not look up itself: the latest evaluation of each model version
(the registry is above the kernel; the flow and the CLI read it) and the sections of the settings used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection

from genai.reports import aggregate as sql
from genai.reports.budgets import budget_lines, linear_forecast
from genai.reports.gpu import gpu_shares
from genai.reports.model import CostReport, EvalAccuracy, Forecast, Group, UnitCost
from genai.reports.periods import Period, period_of
from genai.settings.reports import ReportsSettings

BREAKDOWNS = ("tenant", "key", "model", "version", "route", "endpoint", "upstream")


def build_report(
    url: str,
    period: Period,
    *,
    reports: ReportsSettings,
    budget_kind: Literal["day", "month"] = "month",
    tenant_budgets: Mapping[str, float] | None = None,
    accuracy: Mapping[str, EvalAccuracy] | None = None,
    tenants: Sequence[str] = (),
    now: datetime | None = None,
) -> CostReport:
    """The report of ``period`` over the ledger at ``url`` (only ``tenants``, when given)."""
    from genai.db import get_engine

    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with get_engine(url).connect() as connection:
        budgets, evaluated = tenant_budgets or {}, accuracy or {}
        return _build(connection, period, reports, budget_kind, budgets, evaluated, tuple(tenants), moment)


def _build(
    connection: Connection,
    period: Period,
    reports: ReportsSettings,
    budget_kind: Literal["day", "month"],
    tenant_budgets: Mapping[str, float],
    accuracy: Mapping[str, EvalAccuracy],
    tenants: tuple[str, ...],
    now: datetime,
) -> CostReport:
    scope = sql.Scope(period.start, period.end, tenants)
    before = period.previous()
    previous_scope = sql.Scope(before.start, before.end, tenants)
    totals, previous = sql.totals(connection, scope), sql.totals(connection, previous_scope)
    p50, p95 = sql.percentiles(connection, scope, (0.5, 0.95))
    breakdowns = {name: sql.breakdown(connection, name, scope, previous_scope) for name in BREAKDOWNS}
    top = reports.top_n
    return CostReport(
        period=period.label,
        kind=period.kind,
        start=period.start,
        end=period.end,
        generated_at=now,
        tenants=list(tenants),
        totals=totals,
        previous_period=before.label,
        previous=previous,
        change_pct=sql.change_pct(totals.cost_usd, previous.cost_usd),
        cost_p50_usd=p50,
        cost_p95_usd=p95,
        percentile_method=(
            "percentile_cont in PostgreSQL"
            if connection.dialect.name == "postgresql"
            else "continuous, from an ORDER BY/OFFSET query in SQLite"
        ),
        breakdowns=breakdowns,
        top_tenants=[g for g in breakdowns["tenant"] if g.cost_usd > 0][:top],
        top_keys=[g for g in breakdowns["key"] if g.cost_usd > 0 and g.value is not None][:top],
        expensive=sql.expensive(connection, scope, top),
        unit_costs=unit_costs(breakdowns["version"], accuracy),
        unpriced=sql.unpriced(connection, scope),
        budgets=budget_lines(connection, period, budget_kind, tenant_budgets, now, tenants),
        gpu=gpu_shares(connection, period, reports.gpu_pools, now, tenants),
        daily=sql.daily(connection, scope),
        forecast=forecast(connection, period, now, tenants),
    )


def unit_costs(versions: list[Group], accuracy: Mapping[str, EvalAccuracy]) -> list[UnitCost]:
    """Per registered version: cost per 1,000 requests, and per correct answer where it was evaluated."""
    lines = []
    for group in versions:
        if group.value is None:
            continue
        evaluated = accuracy.get(group.value)
        line = UnitCost(
            model_version=group.value,
            requests=group.requests,
            succeeded=group.succeeded,
            cost_usd=group.cost_usd,
            per_1k_requests=group.cost_per_1k_requests,
        )
        if evaluated is not None and evaluated.n:
            line.correct_rate = evaluated.rate
            line.eval_run_id = evaluated.run_id
            correct = group.succeeded * evaluated.rate
            line.per_correct_answer = group.cost_usd / correct if correct else None
        lines.append(line)
    return lines


def forecast(connection: Connection, period: Period, now: datetime, tenants: tuple[str, ...]) -> Forecast:
    """The month containing the report's end: spend so far and a linear forecast to its last day."""
    until = period.elapsed_end(now)
    month = period_of("month", until - timedelta(microseconds=1))
    until = min(until, month.end)
    spent = sql.spend(connection, sql.Scope(month.start, until, tenants))
    return Forecast(
        month=month.label,
        month_to_date_usd=spent,
        days_elapsed=(until - month.start) / timedelta(days=1),
        days_in_month=month.days,
        forecast_usd=linear_forecast(spent, month, until),
    )
