"""Tables of the gateway's access control: API keys (only their hash is kept) and the audit log.

An API key is shown once, when it is created; the database keeps its SHA-256 (keys are long random
strings, so a fast hash is enough: there is no password to guess) and a short prefix for display and for
revoking. The audit log is append-only and tamper-evident: each entry stores the hash of the previous
entry and its own hash over its fields, so a changed or removed row breaks the chain at that row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from genai.db.base import Base


class ApiKeyRow(Base):
    """One API key: who it belongs to (tenant, tier), what it may use, until when."""

    __tablename__ = "api_keys"

    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant: Mapped[str] = mapped_column(String(128), index=True)
    tier: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256), default="")
    models: Mapped[list[str] | None]
    budget_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntryRow(Base):
    """One decision of the gateway about one request, chained to the entry before it."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant", "at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    request_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(256))  # a key prefix or a token's subject
    tenant: Mapped[str | None] = mapped_column(String(128))
    route: Mapped[str] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(256))
    decision: Mapped[str] = mapped_column(String(16))  # allowed, refused, limited
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # prompt and answer, encrypted, if asked for
    guards: Mapped[str | None] = mapped_column(Text)  # guard events (stage:check:kind:action, ...)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
