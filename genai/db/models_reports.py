"""Budget alerts the cost report sent: one row per tenant, budget period and threshold.

The primary key is what makes an alert go out once: a report run inserts the row before it sends, and a
row already there (an earlier run, or a run at the same time) means the alert was sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from genai.db.base import Base


class ReportAlertRow(Base):
    """One budget threshold a tenant crossed in one budget period, and how the alert was delivered."""

    __tablename__ = "report_alerts"

    tenant: Mapped[str] = mapped_column(String(128), primary_key=True)
    budget_period: Mapped[str] = mapped_column(String(16), primary_key=True)  # 2026-11 or 2026-11-30
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)  # percent of the budget
    sent_at: Mapped[datetime]
    report_period: Mapped[str] = mapped_column(String(32))  # the report that found it
    spent_usd: Mapped[float] = mapped_column(Float)
    budget_usd: Mapped[float] = mapped_column(Float)
    event: Mapped[str | None] = mapped_column(String(128))  # the Prefect event's name, when emitted
    webhook_status: Mapped[str | None] = mapped_column(String(256))  # HTTP status or the error; None: none
