"""Budget alerts: which thresholds a tenant has crossed, claiming each once in ``report_alerts``, the
webhook POST, and what was delivered.

``claim`` inserts a row per (tenant, budget period, threshold) and skips rows already there, in one
statement per alert: the run whose insert wrote the row is the one that sends it, so two report runs at
the same time still send an alert once. The sender (the flow's task) emits the Prefect event and posts
the webhook, then ``record_delivery`` keeps what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from genai.db.models_reports import ReportAlertRow
from genai.reports.budgets import crossed
from genai.reports.model import BudgetLine

EVENT = "genai.budget.crossed"


@dataclass(frozen=True)
class Alert:
    """A tenant that reached ``threshold`` percent of its budget in ``budget_period``."""

    tenant: str
    budget_period: str
    threshold: int
    spent_usd: float
    budget_usd: float
    report_period: str

    def payload(self) -> dict[str, Any]:
        """The JSON body of the webhook and the event's payload."""
        return {
            "event": EVENT,
            "tenant": self.tenant,
            "budget_period": self.budget_period,
            "threshold_pct": self.threshold,
            "spent_usd": round(self.spent_usd, 6),
            "budget_usd": self.budget_usd,
            "percent": round(100.0 * self.spent_usd / self.budget_usd, 2) if self.budget_usd else None,
            "report_period": self.report_period,
        }


def due_alerts(lines: Sequence[BudgetLine], thresholds: Sequence[int], report_period: str) -> list[Alert]:
    """Every threshold each tenant budget has reached (sent or not; ``claim`` keeps the new ones)."""
    return [
        Alert(line.name, line.budget_period, threshold, line.spent_usd, line.budget_usd, report_period)
        for line in lines
        if line.scope == "tenant"
        for threshold in crossed(line, thresholds)
    ]


def claim(url: str, alerts: Sequence[Alert], now: datetime | None = None) -> list[Alert]:
    """The alerts not sent before, each now recorded as sent by this caller."""
    from genai.db import get_engine

    engine = get_engine(url)
    moment = now or datetime.now(UTC)
    claimed = []
    with engine.begin() as connection:
        insert = _insert_ignoring_present(connection.dialect.name)
        for alert in alerts:
            row = {
                "tenant": alert.tenant,
                "budget_period": alert.budget_period,
                "threshold": alert.threshold,
                "sent_at": moment,
                "report_period": alert.report_period,
                "spent_usd": alert.spent_usd,
                "budget_usd": alert.budget_usd,
            }
            if connection.execute(insert.values(**row)).rowcount == 1:
                claimed.append(alert)
    return claimed


def _insert_ignoring_present(dialect: str) -> Any:
    keys = ["tenant", "budget_period", "threshold"]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(ReportAlertRow).on_conflict_do_nothing(index_elements=keys)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(ReportAlertRow).on_conflict_do_nothing(index_elements=keys)


def record_delivery(url: str, alert: Alert, event: str | None, webhook_status: str | None) -> None:
    """Keep how a claimed alert went out: the event emitted, the webhook's answer (or its error)."""
    from genai.db import get_engine

    statement = (
        update(ReportAlertRow)
        .where(
            ReportAlertRow.tenant == alert.tenant,
            ReportAlertRow.budget_period == alert.budget_period,
            ReportAlertRow.threshold == alert.threshold,
        )
        .values(event=event, webhook_status=webhook_status)
    )
    with get_engine(url).begin() as connection:
        connection.execute(statement)


def post_webhook(url: str, alert: Alert, timeout: float) -> str:
    """POST the alert as JSON; the HTTP status, or ``error: ...`` (a failed webhook never fails the run)."""
    import httpx

    try:
        response = httpx.post(url, json=alert.payload(), timeout=timeout)
    except httpx.HTTPError as error:
        return f"error: {type(error).__name__}: {error}"[:256]
    return str(response.status_code)


def sent_alerts(url: str, tenants: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every alert recorded, newest first (the CLI and the tests read them)."""
    from sqlalchemy import select

    from genai.db import get_engine

    statement = select(ReportAlertRow).order_by(ReportAlertRow.sent_at.desc(), ReportAlertRow.tenant)
    if tenants:
        statement = statement.where(ReportAlertRow.tenant.in_(list(tenants)))
    with get_engine(url).connect() as connection:
        return [dict(row) for row in connection.execute(statement).mappings()]
