"""The ledger extract the quality suite checks: one row per record of the period, with the silence before
it computed by the database (window functions), and whether that silence fell in a busy hour.

A gap counts only between busy hours (the hours of the records on both sides have at least
``busy_requests_per_hour`` records each): a quiet night, or the morning's first request after it, has
long silences by nature; a busy afternoon does not, so a long one there suggests records that never
reached the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, case, func, literal_column, select

from genai.reports.aggregate import Scope, U

if TYPE_CHECKING:
    import pandas as pd

_KEPT = ("request_id", "created_at", "cost_usd", "saved_cost_usd", "status", "model", "model_version")


def _hour(dialect: str) -> Any:
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H", U.created_at)
    return func.date_trunc("hour", func.timezone("UTC", U.created_at))


def _seconds_between(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def extract_statement(dialect: str, scope: Scope, busy_per_hour: int) -> Any:
    """Request id, time, cost, saved cost, status, model and version, and the busy-hour gap (NULL
    elsewhere)."""
    hourly = (
        select(
            U.request_id,
            U.created_at,
            U.cost_usd,
            U.saved_cost_usd,
            U.status,
            U.model,
            U.model_version,
            func.count().over(partition_by=_hour(dialect)).label("hour_records"),
        )
        .where(*scope.where())
        .subquery("hourly")
    )
    order = (hourly.c.created_at, hourly.c.request_id)
    previous_at = func.lag(hourly.c.created_at).over(order_by=order)
    previous_busy = func.lag(hourly.c.hour_records).over(order_by=order)
    gaps = select(
        *(hourly.c[name] for name in _KEPT),
        _seconds_between(dialect, hourly.c.created_at, previous_at).label("gap_s"),
        hourly.c.hour_records,
        previous_busy.label("previous_hour_records"),
    ).subquery("gaps")
    busy = (gaps.c.hour_records >= busy_per_hour) & (gaps.c.previous_hour_records >= busy_per_hour)
    return select(
        *(gaps.c[name] for name in _KEPT),
        case((busy, gaps.c.gap_s), else_=literal_column("NULL")).label("busy_gap_s"),
    ).order_by(gaps.c.created_at, gaps.c.request_id)


def ledger_extract(connection: Connection, scope: Scope, busy_per_hour: int) -> pd.DataFrame:
    """The extract as a DataFrame with a 0..n-1 index (what the suite runner needs)."""
    import pandas as pd

    statement = extract_statement(connection.dialect.name, scope, busy_per_hour)
    result = connection.execute(statement)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in ("cost_usd", "saved_cost_usd", "busy_gap_s"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.reset_index(drop=True)
