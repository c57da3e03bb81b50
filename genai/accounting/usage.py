"""The usage ledger read back: the newest usage records, filtered by time, tenant and model.

``parse_since`` reads what ``genai usage list --since`` takes: a duration back from now (``30m``,
``1h``, ``7d``, ``90s``) or a date or time (``2026-12-01``, ``2026-12-01T08:00``, UTC unless it says).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class UsageEntry(BaseModel):
    """One usage record as the CLI shows it."""

    request_id: str
    created_at: datetime
    tenant: str | None
    key_prefix: str | None
    subject: str | None
    endpoint: str | None
    route: str
    model: str | None
    model_version: str | None
    worker: str | None
    status: int
    stream: bool | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    latency_ms: float
    ttft_ms: float | None
    attempts: int
    fallbacks: int
    cost_usd: float | None
    price_version: str | None
    cache_hit: bool
    cache_level: str | None = None
    saved_tokens: int | None = None
    saved_cost_usd: float | None = None
    guard_events: str | None = None
    response_retries: int = 0
    error_type: str | None


class UsageTotals(BaseModel):
    """The sums over what a filter matches (not only the listed page)."""

    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    unpriced: int  # records without a cost (their model has no price)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """The UTC time ``text`` names: a duration back from ``now``, or an ISO date or time."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r} is neither a duration (30m, 1h, 7d) nor a date (2026-12-01[T08:00])"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _filters(since: datetime | None, tenant: str | None, model: str | None) -> list[ColumnElement[bool]]:
    from genai.db import UsageRow

    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(UsageRow.created_at >= since)
    if tenant is not None:
        conditions.append(UsageRow.tenant == tenant)
    if model is not None:
        conditions.append(UsageRow.model == model)
    return conditions


def list_usage(
    url: str,
    since: datetime | None = None,
    tenant: str | None = None,
    model: str | None = None,
    limit: int = 50,
) -> list[UsageEntry]:
    """The newest usage records of the database at ``url`` that match the filters."""
    from genai.db import UsageRow, get_engine

    statement = (
        select(UsageRow)
        .where(*_filters(since, tenant, model))
        .order_by(UsageRow.created_at.desc(), UsageRow.request_id)
        .limit(limit)
    )
    with get_engine(url).connect() as connection:
        rows = connection.execute(statement).all()
    return [UsageEntry.model_validate(row, from_attributes=True) for row in rows]


def usage_totals(
    url: str, since: datetime | None = None, tenant: str | None = None, model: str | None = None
) -> UsageTotals:
    """Requests, tokens and cost summed over every record that matches the filters."""
    from genai.db import UsageRow, get_engine

    statement = select(
        func.count(),
        func.coalesce(func.sum(UsageRow.prompt_tokens), 0),
        func.coalesce(func.sum(UsageRow.completion_tokens), 0),
        func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
        func.count().filter(UsageRow.cost_usd.is_(None)),
    ).where(*_filters(since, tenant, model))
    with get_engine(url).connect() as connection:
        requests, prompt, completion, cost, unpriced = connection.execute(statement).one()
    return UsageTotals(
        requests=requests,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=float(cost or 0.0),
        unpriced=unpriced,
    )
