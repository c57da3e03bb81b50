"""Rows for the database, built from usage records, and the batch inserts that write them once only.

A queued row holds JSON values only (times as ISO text, encrypted content as its ASCII token), so that
the same row can be written now or spooled to disk and written later, through the same conversion.
Text is cut to its column's length (PostgreSQL refuses a longer value, and one such row would otherwise
keep its whole batch in the spool forever); a request id longer than its column keeps a readable head
and a digest of the whole id, so two long ids never collide and a replay maps to the same key.

``insert_usage`` skips request ids already present: ``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL
and SQLite (SQLAlchemy's dialect inserts), so a batch replayed after an ambiguous failure writes nothing
twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, Table

from gateway.policies.usage import guard_labels

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from gateway.policies.usage import UsageRecord

Row = dict[str, Any]
REQUEST_ID_LENGTH = 64


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def fit_request_id(request_id: str) -> str:
    """``request_id`` as the ledger keys it: unchanged up to 64 characters, else head + digest."""
    if len(request_id) <= REQUEST_ID_LENGTH:
        return request_id
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:31]
    return f"{request_id[: REQUEST_ID_LENGTH - 32]}~{digest}"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def usage_row(
    record: UsageRecord,
    cost_usd: float | None,
    price_version: str | None,
    saved_cost_usd: float | None = None,
) -> Row:
    """The ledger row of ``record`` (JSON values; ``created_at`` is when the answer finished)."""
    saved = record.saved_prompt_tokens, record.saved_completion_tokens
    return {
        "request_id": fit_request_id(record.request_id),
        "created_at": now_iso(),
        "tenant": record.tenant,
        "key_prefix": record.key_prefix,
        "subject": record.subject,
        "endpoint": record.endpoint,
        "route": record.path,
        "model": record.model,
        "model_version": record.model_version,
        "upstream": record.upstream,
        "worker": record.worker,
        "status": record.status,
        "stream": record.stream,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cached_tokens": record.cached_tokens,
        "latency_ms": _ms(record.latency_seconds) or 0.0,
        "ttft_ms": _ms(record.time_to_first_token),
        "attempts": record.attempts,
        "fallbacks": record.fallbacks,
        "cost_usd": cost_usd,
        "price_version": price_version,
        "cache_hit": record.cache_hit,
        "cache_level": record.cache_level,
        "saved_tokens": None if saved == (None, None) else (saved[0] or 0) + (saved[1] or 0),
        "saved_cost_usd": saved_cost_usd,
        "guard_events": guard_labels(record.guard_events),
        "response_retries": record.response_retries,
        "error_type": record.error_type,
    }


@cache
def _text_limits(table: Table) -> tuple[tuple[str, int], ...]:
    """The bounded text columns of ``table`` and their lengths (looked up once per table, not per row)."""
    return tuple(
        (column.name, column.type.length)
        for column in table.columns
        if isinstance(column.type, String) and column.type.length
    )


def to_database(table: Table, row: Row, times: tuple[str, ...] = ("created_at",)) -> Row:
    """``row`` with its times parsed and its text cut to the column lengths of ``table``."""
    values = dict(row)
    for name in times:
        value = values.get(name)
        if isinstance(value, str):
            values[name] = datetime.fromisoformat(value)
    for name, length in _text_limits(table):
        value = values.get(name)
        if isinstance(value, str) and len(value) > length:
            values[name] = value[:length]
    return values


def insert_ignoring_present(connection: Connection, table: Table, rows: list[Row], key: str) -> int:
    """Insert ``rows`` into ``table``, skipping those whose ``key`` is already there; the rows written."""
    if not rows:
        return 0
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(table).on_conflict_do_nothing(index_elements=[key])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=[key])
    else:  # pragma: no cover - the platform runs on SQLite and PostgreSQL only
        raise RuntimeError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")
    result = connection.execute(statement, rows)
    return int(result.rowcount or 0)


def insert_usage(connection: Connection, rows: list[Row]) -> int:
    """Write a ledger batch in the caller's transaction; request ids already there are skipped."""
    from genai.db import UsageRow

    table = UsageRow.__table__
    assert isinstance(table, Table)
    # One row per request id within the batch too (a client that sent the same id twice at once).
    unique: dict[str, Row] = {}
    for row in rows:
        unique.setdefault(row["request_id"], row)
    values = [to_database(table, row) for row in unique.values()]
    return insert_ignoring_present(connection, table, values, "request_id")
