"""Audit entries: who did what, the access decision, and the batch write that chains them.

``decision_of``: ``refused`` for 401 and 403 (no or a bad credential, a model the key may not use),
``limited`` for 429 and 402 (a rate limit or a budget), ``allowed`` for everything else: the access
decision let the request through, and ``status`` (with ``reason``, the error type) says how it ended,
so a 404 for an unknown model or a 502 from a dead upstream is ``allowed`` with that status.

``write_audit`` appends a batch as one transaction that holds the log's write lock from the start
(PostgreSQL: ``LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE``, which readers pass but other writers
wait for; SQLite: ``BEGIN IMMEDIATE`` through ``genai.db.for_writing``), reads the last entry, and
numbers and hashes the batch after it (``genai.accounting.chain``). So several gateway processes on one
database still form one chain. A batch replayed from the spool first drops the entries already written
(same request id and time): an ambiguous failure never chains an entry twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert, select

from gateway.accounting.rows import Row, now_iso, to_database
from gateway.policies.usage import guard_labels
from genai.accounting.chain import GENESIS, canonical_time, entry_hash

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from gateway.policies.usage import UsageRecord

_LIMITED = frozenset({402, 429})
_REFUSED = frozenset({401, 403})


def decision_of(status: int) -> str:
    if status in _REFUSED:
        return "refused"
    if status in _LIMITED:
        return "limited"
    return "allowed"


def actor_of(record: UsageRecord) -> str:
    """The key prefix, else the token subject, else ``anonymous`` (as ``Principal.actor`` names it)."""
    if record.key_prefix:
        return record.key_prefix
    return f"sub:{record.subject}" if record.subject else "anonymous"


def audit_row(record: UsageRecord, content: str | None) -> Row:
    """The audit entry of ``record`` before it is chained (JSON values; ``content`` already encrypted)."""
    return {
        "at": now_iso(),
        "request_id": record.request_id,
        "actor": actor_of(record),
        "tenant": record.tenant,
        "route": record.path,
        "model": record.model,
        "decision": decision_of(record.status),
        "status": record.status,
        "reason": record.error_type,
        "content": content,
        "guards": guard_labels(record.guard_events),
    }


def _table() -> Table:
    from genai.db import AuditEntryRow

    table = AuditEntryRow.__table__
    assert isinstance(table, Table)
    return table


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")


def _not_yet_written(connection: Connection, table: Table, rows: list[Row]) -> list[Row]:
    ids = sorted({row["request_id"] for row in rows})
    present: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        found = connection.execute(
            select(table.c.request_id, table.c.at).where(table.c.request_id.in_(ids[start : start + 500]))
        )
        present.update((request_id, canonical_time(at)) for request_id, at in found)
    return [row for row in rows if (row["request_id"], canonical_time(row["at"])) not in present]


def write_audit(engine: Engine, rows: list[Row], replayed: bool) -> int:
    """Chain ``rows`` after the log's last entry, in one locked transaction; the entries written."""
    from genai.db import for_writing

    table = _table()
    with for_writing(engine).begin() as connection:
        _lock(connection)
        values: list[dict[str, Any]] = [
            to_database(table, row, times=("at",)) for row in rows
        ]  # request ids are not keys here: kept whole up to their column, cut beyond it
        if replayed:
            values = _not_yet_written(connection, table, values)
        if not values:
            return 0
        last = connection.execute(
            select(table.c.seq, table.c.entry_hash).order_by(table.c.seq.desc()).limit(1)
        ).first()
        seq, prev_hash = (last.seq, last.entry_hash) if last is not None else (0, GENESIS)
        for entry in values:
            seq += 1
            content = entry.get("content")
            entry["content"] = content.encode("ascii") if isinstance(content, str) else content
            entry["seq"], entry["prev_hash"] = seq, prev_hash
            entry["entry_hash"] = prev_hash = entry_hash(prev_hash, entry)
        connection.execute(insert(table), values)
    return len(values)
