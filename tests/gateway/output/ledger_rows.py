"""Reading the usage ledger a test gateway wrote (SQLite under its home), by request id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from genai.db import UsageRow, dispose_engine, get_engine
from genai.settings import Settings


def ledger_rows(settings: Settings) -> dict[str, Any]:
    """Every usage row, by request id (read once the gateway shut down: its ledger is flushed then)."""
    url = settings.sql_url
    try:
        with get_engine(url).connect() as connection:
            return {row.request_id: row for row in connection.execute(select(UsageRow))}
    finally:
        dispose_engine(url)
