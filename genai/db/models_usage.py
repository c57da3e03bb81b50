"""The usage ledger: one row per gateway request, with what it used and what it cost.

``request_id`` is the primary key, so a batch replayed after the database came back (the gateway spools
to local disk while it is down) can never write a request twice: rows already there are skipped.
Cost reports aggregate this table in SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from genai.db.base import Base


class UsageRow(Base):
    """One finished request."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "tenant", "created_at"),
        Index(None, "model", "created_at"),
    )

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    tenant: Mapped[str | None] = mapped_column(String(128))
    key_prefix: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(256))
    endpoint: Mapped[str | None] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(256))
    model: Mapped[str | None] = mapped_column(String(256))
    model_version: Mapped[str | None] = mapped_column(String(256))
    upstream: Mapped[str | None] = mapped_column(String(256))
    worker: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[int] = mapped_column(Integer)
    stream: Mapped[bool | None] = mapped_column(Boolean)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cached_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    fallbacks: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: the model has no price (never a silent 0)
    price_version: Mapped[str | None] = mapped_column(String(64))
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    cache_level: Mapped[str | None] = mapped_column(String(8))  # l1, l2 (hits) or miss
    saved_tokens: Mapped[int | None] = mapped_column(Integer)  # a hit's tokens, not spent again
    saved_cost_usd: Mapped[float | None] = mapped_column(Float)
    guard_events: Mapped[str | None] = mapped_column(String(1024))  # stage:check:kind:action, ...
    response_retries: Mapped[int] = mapped_column(Integer, default=0)
    error_type: Mapped[str | None] = mapped_column(String(128))
