"""Budget alerts of the cost report: report_alerts, one row per tenant, budget period and threshold.

Revision ID: 0004_report_alerts
Revises: 0003_cache_and_guards
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from genai.db.base import UTCDateTime

revision: str = "0004_report_alerts"
down_revision: str | Sequence[str] | None = "0003_cache_and_guards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_alerts",
        sa.Column("tenant", sa.String(length=128), nullable=False),
        sa.Column("budget_period", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("report_period", sa.String(length=32), nullable=False),
        sa.Column("spent_usd", sa.Float(), nullable=False),
        sa.Column("budget_usd", sa.Float(), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=True),
        sa.Column("webhook_status", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "budget_period", "threshold", name=op.f("pk_report_alerts")),
    )


def downgrade() -> None:
    op.drop_table("report_alerts")
