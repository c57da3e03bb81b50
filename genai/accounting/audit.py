"""The audit log read back: its entries listed, and its hash chain verified from the first entry on.

``verify_chain`` walks every entry in ``seq`` order and stops at the first one that breaks the chain: a
missing ``seq`` (a deleted row), a ``prev_hash`` that is not the previous entry's hash (an entry changed
and re-hashed, or rows reordered), or an ``entry_hash`` that its fields no longer produce (a changed
row). The chain cannot show that its newest entries were cut off: ``head`` (the last seq and hash) is what
an operator records elsewhere to tell that later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select

from genai.accounting.chain import GENESIS, HASHED_FIELDS, OPTIONAL_HASHED_FIELDS, entry_hash

_READ_BATCH = 1000


class ChainBreak(BaseModel):
    """The first entry that breaks the chain, and how."""

    seq: int
    problem: Literal["missing", "prev_hash", "entry_hash"]
    detail: str
    expected: str | None = None
    found: str | None = None


class ChainReport(BaseModel):
    """What ``verify_chain`` found."""

    ok: bool
    entries: int  # entries checked (up to the break)
    head_seq: int | None = None  # the last good entry
    head_hash: str | None = None
    broken: ChainBreak | None = None


class AuditEntry(BaseModel):
    """One audit entry as ``genai audit list`` shows it (content stays encrypted)."""

    seq: int
    at: datetime
    request_id: str
    actor: str
    tenant: str | None
    route: str
    model: str | None
    decision: str
    status: int
    reason: str | None
    guards: str | None = None  # guard events: stage:check:kind:action, ...
    has_content: bool


def _break_of(row: object, seq: int, prev_hash: str) -> ChainBreak | None:
    found_seq: int = getattr(row, "seq")  # noqa: B009 - rows of a typed select
    if found_seq != seq:
        gap = f"entry {seq}" if found_seq == seq + 1 else f"entries {seq} to {found_seq - 1}"
        return ChainBreak(
            seq=seq,
            problem="missing",
            detail=f"{gap} missing: the chain goes from {seq - 1} to {found_seq} (a deleted row)",
            expected=str(seq),
            found=str(found_seq),
        )
    stored_prev: str = getattr(row, "prev_hash")  # noqa: B009
    if stored_prev != prev_hash:
        before = "the genesis hash" if seq == 1 else f"entry {seq - 1}'s hash"
        return ChainBreak(
            seq=seq,
            problem="prev_hash",
            detail=f"prev_hash is not {before} (entry {seq - 1} or this one was changed and re-hashed)",
            expected=prev_hash,
            found=stored_prev,
        )
    fields = {name: getattr(row, name) for name in (*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS)}
    recomputed = entry_hash(stored_prev, fields)
    stored: str = getattr(row, "entry_hash")  # noqa: B009
    if recomputed != stored:
        return ChainBreak(
            seq=seq,
            problem="entry_hash",
            detail="its fields no longer give its entry_hash (the row was changed after it was written)",
            expected=stored,
            found=recomputed,
        )
    return None


def verify_chain(url: str) -> ChainReport:
    """Check the whole audit chain of the database at ``url``; stops at the first broken entry."""
    from genai.db import AuditEntryRow, get_engine

    engine = get_engine(url)
    prev_hash, seq, head_seq = GENESIS, 1, None
    statement = select(AuditEntryRow).order_by(AuditEntryRow.seq).execution_options(yield_per=_READ_BATCH)
    with engine.connect() as connection:
        for row in connection.execute(statement):
            broken = _break_of(row, seq, prev_hash)
            if broken is not None:
                return ChainReport(
                    ok=False,
                    entries=seq - 1,
                    head_seq=head_seq,
                    head_hash=prev_hash if head_seq else None,
                    broken=broken,
                )
            prev_hash, head_seq, seq = row.entry_hash, row.seq, seq + 1
    return ChainReport(ok=True, entries=seq - 1, head_seq=head_seq, head_hash=prev_hash if head_seq else None)


def list_entries(
    url: str,
    since: datetime | None = None,
    tenant: str | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """The newest audit entries first, optionally only those ``since`` a time or of one ``tenant``."""
    from genai.db import AuditEntryRow, get_engine

    statement = select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(limit)
    if since is not None:
        statement = statement.where(AuditEntryRow.at >= since)
    if tenant is not None:
        statement = statement.where(AuditEntryRow.tenant == tenant)
    with get_engine(url).connect() as connection:
        rows = connection.execute(statement).all()
    return [
        AuditEntry(
            seq=row.seq,
            at=row.at,
            request_id=row.request_id,
            actor=row.actor,
            tenant=row.tenant,
            route=row.route,
            model=row.model,
            decision=row.decision,
            status=row.status,
            reason=row.reason,
            guards=row.guards,
            has_content=row.content is not None,
        )
        for row in rows
    ]
