"""Budgets against spend: each tenant's budget (``tenants[T].budget_usd``) and each key's (``api_keys``),
in the budget period the gateway counts (``limits.budget_period``: day or month) that contains the
report's end, with a linear forecast to that budget period's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, select

from genai.db.models_access import ApiKeyRow
from genai.reports.aggregate import Scope, spend_by
from genai.reports.model import BudgetLine
from genai.reports.periods import Period, budget_period


def budget_scope(
    report: Period, kind: Literal["day", "month"], now: datetime, tenants: Sequence[str] = ()
) -> tuple[Period, Scope]:
    """The budget period containing the report's (elapsed) end, and its records up to that end."""
    end = report.elapsed_end(now)
    period = budget_period(kind, end - timedelta(microseconds=1))
    return period, Scope(period.start, min(end, period.end), tuple(tenants))


def linear_forecast(spent: float, period: Period, until: datetime) -> float:
    """Spend at the period's end if the run rate so far holds (the spend itself once the period is over)."""
    elapsed = (until - period.start) / timedelta(days=1)
    if until >= period.end or elapsed <= 0:
        return spent
    return spent / elapsed * period.days


def budget_lines(
    connection: Connection,
    report: Period,
    kind: Literal["day", "month"],
    tenant_budgets: Mapping[str, float],
    now: datetime,
    tenants: Sequence[str] = (),
) -> list[BudgetLine]:
    """Every tenant and key that has a budget, with its spend so far in the budget period."""
    period, scope = budget_scope(report, kind, now, tenants)
    by_tenant = spend_by(connection, "tenant", scope)
    by_key = spend_by(connection, "key", scope)
    lines = []
    for tenant, budget in sorted(tenant_budgets.items()):
        if tenants and tenant not in tenants:
            continue
        lines.append(_line("tenant", tenant, tenant, budget, by_tenant.get(tenant, 0.0), period, scope.end))
    keys = select(ApiKeyRow.prefix, ApiKeyRow.tenant, ApiKeyRow.budget_usd).where(
        ApiKeyRow.budget_usd.is_not(None), ApiKeyRow.revoked_at.is_(None)
    )
    for prefix, owner, limit in connection.execute(keys.order_by(ApiKeyRow.prefix)):
        if tenants and owner not in tenants:
            continue
        spent = by_key.get(prefix, 0.0)
        lines.append(_line("key", prefix, owner, float(limit or 0.0), spent, period, scope.end))
    return lines


def _line(
    scope: str, name: str, tenant: str | None, budget: float, spent: float, period: Period, until: datetime
) -> BudgetLine:
    return BudgetLine(
        scope=scope,
        name=name,
        tenant=tenant,
        budget_usd=budget,
        budget_period=period.label,
        spent_usd=spent,
        percent=100.0 * spent / budget if budget > 0 else (0.0 if spent == 0 else float("inf")),
        forecast_usd=linear_forecast(spent, period, until),
    )


def crossed(line: BudgetLine, thresholds: Sequence[int]) -> list[int]:
    """The thresholds (percent) a budget line has reached."""
    return [threshold for threshold in thresholds if line.percent >= threshold]
