"""Tables of the ingestion pipeline: documents, their chunks, quarantined inputs and ingest runs.

``chunks`` has no foreign key to ``documents`` on purpose: a document's chunks are written before its
record, which is the commit marker of the document (see ``genai.stores.documents``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from genai.db.base import Base


class DocumentRow(Base):
    """One ingested document of a knowledge base; present only once all its chunks are stored."""

    __tablename__ = "documents"

    kb: Mapped[str] = mapped_column(String, primary_key=True)
    doc_id: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    modified: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(128))
    pipeline_version: Mapped[str] = mapped_column(String(128))
    chunk_count: Mapped[int] = mapped_column(Integer)
    token_count: Mapped[int] = mapped_column(Integer)
    ingested_at: Mapped[datetime]


class ChunkRow(Base):
    """One chunk of a document's text, numbered from 0 in document order."""

    __tablename__ = "chunks"

    kb: Mapped[str] = mapped_column(String, primary_key=True)
    doc_id: Mapped[str] = mapped_column(String, primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    token_count: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[list[str]]


class QuarantineRow(Base):
    """A document a run refused, kept with the check that failed so a person can act on it."""

    __tablename__ = "quarantine"
    __table_args__ = (Index(None, "kb"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kb: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)
    doc_id: Mapped[str] = mapped_column(String)
    source: Mapped[str] = mapped_column(String)
    check: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class IngestRunRow(Base):
    """One run of the ingestion flow over one knowledge base, with its summary once finished."""

    __tablename__ = "ingest_runs"
    # last_runs() reads the newest runs of one knowledge base.
    __table_args__ = (Index(None, "kb", "started_at"),)

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    kb: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32))
    summary: Mapped[dict[str, Any] | None]
