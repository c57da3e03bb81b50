"""Batch serving's records: the files of /v1/files and the batches of /v1/batches.

A file row says what was uploaded (or written by a batch: its output and error files) and by whom; the
bytes live in the file store under the same id (``genai.batch.filestore``). A batch row is the state of
one batch as OpenAI's API shows it: status, counts, the output and error files, one timestamp per status
reached, and the Prefect flow run that serves it. Listings page newest first by ``(created_at, id)``, the
index each table has per tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from genai.db.base import Base


class BatchFileRow(Base):
    """One stored file."""

    __tablename__ = "batch_files"
    __table_args__ = (Index(None, "tenant", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # file-<hex>
    tenant: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(512))
    purpose: Mapped[str] = mapped_column(String(32))  # batch, batch_output, ...
    bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # uploaded, processed, error (OpenAI's values)


class BatchRow(Base):
    """One batch and where it stands."""

    __tablename__ = "batches"
    __table_args__ = (Index(None, "tenant", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # batch_<hex>
    tenant: Mapped[str] = mapped_column(String(128))
    input_file_id: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(64))
    completion_window: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    output_file_id: Mapped[str | None] = mapped_column(String(64))
    error_file_id: Mapped[str | None] = mapped_column(String(64))
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON
    )  # OpenAI's errors.data: [{code, message, param, line}]
    request_total: Mapped[int] = mapped_column(Integer, default=0)
    request_completed: Mapped[int] = mapped_column(Integer, default=0)
    request_failed: Mapped[int] = mapped_column(Integer, default=0)
    batch_metadata: Mapped[dict[str, Any] | None] = mapped_column(
        JSON
    )  # "metadata" is taken by SQLAlchemy's declarative base
    owner: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # BatchOwner: tier, actor, models
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    in_progress_at: Mapped[datetime | None]
    finalizing_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    cancelling_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
