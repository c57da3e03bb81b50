"""The ledger extract the quality suite checks: one row per record of the period, with what each check
needs computed by the database (window functions and CASE), so the extract is numbers and one id.

- ``busy_gap_s``: the silence before a record, counted only between busy hours (the hours of the records
  on both sides have at least ``busy_requests_per_hour`` records each). A quiet night, or the morning's
  first request after it, has long silences by nature; a busy afternoon does not, so a long one there
  suggests records that never reached the ledger. NULL elsewhere.
- ``model_known``: for an answered request (2xx), 1 when it names a model (and, when ``known`` names are
  given, a registered version served it or its NAME, of NAME@alias or NAME/N, is one of them), else 0;
  NULL for every other status.
- ``model``: the model name of the records whose ``model_known`` is 0, NULL for the rest.
- ``at_s``: the record's time as seconds since the epoch (cheaper to move than a datetime).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Float, case, func, literal_column, or_, select, type_coerce

from genai.reports.aggregate import Scope, U

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("request_id", "at_s", "cost_usd", "saved_cost_usd", "status", "model", "model_known", "busy_gap_s")


def _hour(dialect: str) -> Any:
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H", U.created_at)
    return func.date_trunc("hour", func.timezone("UTC", U.created_at))


def _epoch(dialect: str) -> Any:
    if dialect == "sqlite":
        return (func.julianday(U.created_at) - 2440587.5) * 86400.0
    return type_coerce(func.extract("epoch", U.created_at), Float)


def _known(known: Collection[str] | None) -> Any:
    """1/0 for a 2xx record's model, NULL for the rest (see the module docstring)."""
    named: Any = U.model.is_not(None)
    if known:
        names = sorted(known)
        references = [U.model.startswith(f"{name}{mark}", autoescape=True) for name in names for mark in "@/"]
        named = named & or_(U.model_version.is_not(None), U.model.in_(names), *references)
    answered = (U.status >= 200) & (U.status < 300)
    return case((answered & named, 1), (answered, 0), else_=literal_column("NULL"))


def _unknown_model(known: Collection[str] | None) -> Any:
    """The model name where ``model_known`` is 0 (what a failure names), NULL elsewhere: a million
    names that pass would only cost transfer time."""
    return case((_known(known) == 0, U.model), else_=literal_column("NULL"))


def extract_statement(
    dialect: str, scope: Scope, busy_per_hour: int, known: Collection[str] | None = None
) -> Any:
    """The extract's SELECT (columns as ``COLUMNS``), in time order."""
    hourly = (
        select(
            U.request_id,
            U.created_at,
            _epoch(dialect).label("at_s"),
            U.cost_usd,
            U.saved_cost_usd,
            U.status,
            _unknown_model(known).label("model"),
            _known(known).label("model_known"),
            func.count().over(partition_by=_hour(dialect)).label("hour_records"),
        )
        .where(*scope.where())
        .subquery("hourly")
    )
    order = (hourly.c.created_at, hourly.c.request_id)
    previous_at = func.lag(hourly.c.at_s).over(order_by=order)
    previous_busy = func.lag(hourly.c.hour_records).over(order_by=order)
    kept = [hourly.c[name] for name in COLUMNS[:-1]]
    gaps = select(
        *kept,
        hourly.c.created_at,
        (hourly.c.at_s - previous_at).label("gap_s"),
        hourly.c.hour_records,
        previous_busy.label("previous_hour_records"),
    ).subquery("gaps")
    busy = (gaps.c.hour_records >= busy_per_hour) & (gaps.c.previous_hour_records >= busy_per_hour)
    return select(
        *(gaps.c[name] for name in COLUMNS[:-1]),
        case((busy, gaps.c.gap_s), else_=literal_column("NULL")).label("busy_gap_s"),
    ).order_by(gaps.c.created_at, gaps.c.request_id)


def ledger_extract(
    connection: Connection, scope: Scope, busy_per_hour: int, known: Collection[str] | None = None
) -> pd.DataFrame:
    """The extract as a DataFrame with a 0..n-1 index (what the suite runner needs)."""
    import pandas as pd

    if connection.dialect.name == "postgresql":
        # One pass over the period: compiling it to machine code (JIT) costs more than it saves.
        connection.exec_driver_sql("SET LOCAL jit = off")
    statement = extract_statement(connection.dialect.name, scope, busy_per_hour, known)
    rows = connection.execute(statement).fetchall()
    # Column by column: a million rows build a frame in a fraction of the time row tuples take.
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    frame = pd.DataFrame(dict(zip(COLUMNS, columns, strict=True)))
    for column in ("at_s", "cost_usd", "saved_cost_usd", "busy_gap_s"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["model_known"] = pd.array(frame["model_known"], dtype="Int64")
    return frame
