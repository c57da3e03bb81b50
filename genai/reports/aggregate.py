"""The report's SQL: every total, breakdown and top list is one SELECT that the database groups and sums.

Statements take a connection and a ``Scope`` (period bounds and an optional tenant filter); their answers
are a few dozen rows at most, whatever the size of the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Date, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from genai.db.models_usage import UsageRow
from genai.reports.model import DailyPoint, ExpensiveRequest, Group, Totals

U = UsageRow.__table__.c
DIMENSIONS = {
    "tenant": U.tenant,
    "key": U.key_prefix,
    "model": U.model,
    "version": U.model_version,
    "route": U.route,
    "endpoint": U.endpoint,
    "upstream": U.upstream,
}


@dataclass(frozen=True)
class Scope:
    """Which records a statement reads: ``[start, end)`` and, when given, only these tenants."""

    start: datetime
    end: datetime
    tenants: tuple[str, ...] = ()

    def where(self) -> list[ColumnElement[bool]]:
        conditions = [U.created_at >= self.start, U.created_at < self.end]
        if self.tenants:
            conditions.append(U.tenant.in_(self.tenants))
        return conditions


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


ERROR = U.status >= 400
RETRIED = or_(U.attempts > 1, U.response_retries > 0)


def totals(connection: Connection, scope: Scope) -> Totals:
    """Requests, tokens, cost, errors, retries and cache savings of the scope, in one statement."""
    statement = select(
        func.count().label("requests"),
        func.count(U.cost_usd).label("priced_requests"),
        func.count().filter(U.cost_usd.is_(None)).label("unpriced_requests"),
        _sum(U.cost_usd).label("cost_usd"),
        _sum(U.prompt_tokens).label("prompt_tokens"),
        _sum(U.completion_tokens).label("completion_tokens"),
        _sum(U.cached_tokens).label("cached_tokens"),
        func.count().filter(ERROR).label("errors"),
        func.coalesce(func.sum(U.cost_usd).filter(ERROR), 0).label("error_cost_usd"),
        func.count().filter(RETRIED).label("retried"),
        func.coalesce(func.sum(U.cost_usd).filter(RETRIED), 0).label("retry_cost_usd"),
        func.count().filter(U.cache_hit.is_(True)).label("cache_hits"),
        _sum(U.saved_tokens).label("saved_tokens"),
        _sum(U.saved_cost_usd).label("saved_cost_usd"),
    ).where(*scope.where())
    return Totals.model_validate(dict(connection.execute(statement).mappings().one()))


def _group_columns() -> list[Any]:
    return [
        func.count().label("requests"),
        func.count().filter(U.status < 400).label("succeeded"),
        func.count().filter(ERROR).label("errors"),
        func.count().filter(U.cost_usd.is_(None)).label("unpriced"),
        _sum(U.cost_usd).label("cost_usd"),
        _sum(U.prompt_tokens).label("prompt_tokens"),
        _sum(U.completion_tokens).label("completion_tokens"),
        _sum(U.cached_tokens).label("cached_tokens"),
    ]


def breakdown(
    connection: Connection,
    dimension: str,
    scope: Scope,
    previous: Scope | None = None,
    limit: int | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[Group]:
    """One row per value of ``dimension`` (most spent first), with the previous period's spend beside it."""
    column = DIMENSIONS[dimension]
    statement = (
        select(column.label("value"), *_group_columns())
        .where(*scope.where(), *extra)
        .group_by(column)
        .order_by(_sum(U.cost_usd).desc(), func.count().desc(), column)
    )
    if limit is not None:
        statement = statement.limit(limit)
    groups = [Group.model_validate(dict(row)) for row in connection.execute(statement).mappings()]
    if previous is not None and groups:
        present = [g.value for g in groups if g.value is not None]
        before: dict[Any, Any] = dict(
            connection.execute(
                select(column, _sum(U.cost_usd))
                .where(*previous.where(), *extra, column.in_(present))
                .group_by(column)
            ).all()
        )
        for group in groups:
            if group.value in before:
                group.previous_cost_usd = float(before[group.value])
                group.change_pct = change_pct(group.cost_usd, group.previous_cost_usd)
    return groups


def change_pct(now: float, before: float | None) -> float | None:
    """The change in percent, None when there was nothing before to compare with."""
    if not before:
        return None
    return 100.0 * (now - before) / before


def unpriced(connection: Connection, scope: Scope) -> list[Group]:
    """The models (their versions, when registered) whose records have no cost, with requests and tokens."""
    name = func.coalesce(U.model_version, U.model)
    statement = (
        select(name.label("value"), *_group_columns())
        .where(*scope.where(), U.cost_usd.is_(None))
        .group_by(name)
        .order_by(func.count().desc(), name)
    )
    return [Group.model_validate(dict(row)) for row in connection.execute(statement).mappings()]


def expensive(connection: Connection, scope: Scope, limit: int) -> list[ExpensiveRequest]:
    """The ``limit`` most expensive requests."""
    statement = (
        select(
            U.request_id,
            U.created_at,
            U.tenant,
            U.key_prefix,
            U.model,
            U.model_version,
            U.status,
            U.prompt_tokens,
            U.completion_tokens,
            U.cost_usd,
        )
        .where(*scope.where(), U.cost_usd.is_not(None))
        .order_by(U.cost_usd.desc(), U.request_id)
        .limit(limit)
    )
    return [ExpensiveRequest.model_validate(dict(row)) for row in connection.execute(statement).mappings()]


def day_of(connection: Connection) -> Any:
    """The UTC day of a record, as the dialect computes it."""
    if connection.dialect.name == "sqlite":
        return func.date(U.created_at)
    # created_at is a timestamptz: its day in UTC, whatever the session's time zone.
    return cast(func.timezone("UTC", U.created_at), Date)


def daily(connection: Connection, scope: Scope) -> list[DailyPoint]:
    """Requests and cost per UTC day."""
    day = day_of(connection).label("day")
    statement = (
        select(day, func.count().label("requests"), _sum(U.cost_usd).label("cost_usd"))
        .where(*scope.where())
        .group_by(day)
        .order_by(day)
    )
    return [
        DailyPoint(day=str(row.day), requests=row.requests, cost_usd=float(row.cost_usd))
        for row in connection.execute(statement)
    ]


def spend(connection: Connection, scope: Scope) -> float:
    """The cost of the scope, summed."""
    return float(connection.execute(select(_sum(U.cost_usd)).where(*scope.where())).scalar_one())


def spend_by(connection: Connection, dimension: str, scope: Scope) -> dict[str, float]:
    """Cost per value of ``dimension`` (values that are NULL left out)."""
    column = DIMENSIONS[dimension]
    statement = select(column, _sum(U.cost_usd)).where(*scope.where(), column.is_not(None)).group_by(column)
    return {str(value): float(cost) for value, cost in connection.execute(statement)}


def tokens_by_upstream(
    connection: Connection, scope: Scope, upstreams: Sequence[str]
) -> list[tuple[str, str | None, str | None, int]]:
    """(upstream, tenant, model, prompt + completion tokens) of the requests the given upstreams served."""
    tokens = _sum(func.coalesce(U.prompt_tokens, 0) + func.coalesce(U.completion_tokens, 0))
    model = func.coalesce(U.model_version, U.model)
    statement = (
        select(U.upstream, U.tenant, model, tokens)
        .where(*scope.where(), U.upstream.in_(list(upstreams)))
        .group_by(U.upstream, U.tenant, model)
    )
    return [(str(up), tenant, name, int(count)) for up, tenant, name, count in connection.execute(statement)]


def percentiles(connection: Connection, scope: Scope, fractions: Sequence[float]) -> list[float | None]:
    """Continuous percentiles of the cost per priced request (as PostgreSQL's ``percentile_cont``)."""
    priced = [*scope.where(), U.cost_usd.is_not(None)]
    if connection.dialect.name == "postgresql":
        columns = [func.percentile_cont(f).within_group(U.cost_usd.asc()) for f in fractions]
        row = connection.execute(select(*columns).where(*priced)).one()
        return [None if value is None else float(value) for value in row]
    count = int(connection.execute(select(func.count()).where(*priced)).scalar_one())
    return [_offset_percentile(connection, priced, count, fraction) for fraction in fractions]


def _offset_percentile(
    connection: Connection, priced: list[ColumnElement[bool]], count: int, fraction: float
) -> float | None:
    """The interpolated percentile from the two ordered values around it (ORDER BY ... OFFSET in SQL)."""
    if count == 0:
        return None
    position = fraction * (count - 1)
    low = int(position)
    statement = select(U.cost_usd).where(*priced).order_by(U.cost_usd).offset(low).limit(2)
    values = [float(value) for value in connection.execute(statement).scalars()]
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * (position - low)
