"""Cache and guard columns: usage_records gains cache_level, saved_tokens, saved_cost_usd, guard_events
and response_retries; audit_log gains guards.

Revision ID: 0003_cache_and_guards
Revises: 0002_access_and_usage
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_cache_and_guards"
down_revision: str | Sequence[str] | None = "0002_access_and_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as table:
        table.add_column(sa.Column("cache_level", sa.String(length=8), nullable=True))
        table.add_column(sa.Column("saved_tokens", sa.Integer(), nullable=True))
        table.add_column(sa.Column("saved_cost_usd", sa.Float(), nullable=True))
        table.add_column(sa.Column("guard_events", sa.String(length=1024), nullable=True))
        table.add_column(
            sa.Column("response_retries", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("audit_log") as table:
        table.add_column(sa.Column("guards", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as table:
        table.drop_column("guards")
    with op.batch_alter_table("usage_records") as table:
        for name in ("response_retries", "guard_events", "saved_cost_usd", "saved_tokens", "cache_level"):
            table.drop_column(name)
