"""The document store in the platform's SQL database (SQLite by default, PostgreSQL in production).

Each ``replace_documents`` call is one transaction: readers see a batch entirely or not at all. Records are
upserted with the dialect's ``INSERT ... ON CONFLICT DO UPDATE``, so re-running a batch is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from genai.db import ChunkRow, DocumentRow, for_writing, get_engine
from genai.ingest.records import Chunk, DocumentRecord, StoredState
from genai.stores.documents import DocumentBatch, check_batch
from genai.stores.errors import translate_sql_errors

_RECORD_FIELDS = tuple(DocumentRecord.model_fields)
_KEY_FIELDS = ("kb", "doc_id")
_CHUNK_FIELDS = ("chunk_no", "text", "start", "end", "token_count", "heading_path")
# Keeps every statement well under SQLite's and PostgreSQL's bound-parameter limits.
_IDS_PER_STATEMENT = 500


class SqlDocumentStore:
    """``DocumentStore`` over SQLAlchemy; the schema comes from ``genai.db``'s migrations."""

    def __init__(self, url: str) -> None:
        with translate_sql_errors("opening the document database"):
            self._engine: Engine = get_engine(url)
            self._writer = for_writing(self._engine)

    def stored_states(self, kb: str) -> dict[str, StoredState]:
        query = select(DocumentRow.doc_id, DocumentRow.content_hash, DocumentRow.pipeline_version).where(
            DocumentRow.kb == kb
        )
        with translate_sql_errors("reading stored states"), Session(self._engine) as session:
            return {
                doc_id: StoredState(content_hash=content_hash, pipeline_version=version)
                for doc_id, content_hash, version in session.execute(query)
            }

    def replace_documents(self, kb: str, items: DocumentBatch) -> None:
        check_batch(kb, items)
        if not items:
            return
        doc_ids = [record.doc_id for record, _ in items]
        chunk_rows = [_chunk_row(kb, chunk) for _, chunks in items for chunk in chunks]
        record_rows = [record.model_dump() for record, _ in items]
        with (
            translate_sql_errors("replacing documents"),
            Session(self._writer) as session,
            session.begin(),
        ):
            self._delete_chunks(session, kb, doc_ids)
            if chunk_rows:
                session.execute(insert(ChunkRow), chunk_rows)
            self._upsert_records(session, record_rows)

    def delete_documents(self, kb: str, doc_ids: Sequence[str]) -> int:
        deleted = 0
        with (
            translate_sql_errors("deleting documents"),
            Session(self._writer) as session,
            session.begin(),
        ):
            self._delete_chunks(session, kb, doc_ids)
            for group in _groups(doc_ids):
                result = session.execute(
                    delete(DocumentRow).where(DocumentRow.kb == kb, DocumentRow.doc_id.in_(group))
                )
                deleted += result.rowcount  # type: ignore[attr-defined]
        return deleted

    def get_document(self, kb: str, doc_id: str) -> DocumentRecord | None:
        with translate_sql_errors("reading a document"), Session(self._engine) as session:
            row = session.get(DocumentRow, (kb, doc_id))
            return None if row is None else _record(row)

    def get_chunks(self, kb: str, doc_id: str) -> list[Chunk]:
        query = (
            select(ChunkRow).where(ChunkRow.kb == kb, ChunkRow.doc_id == doc_id).order_by(ChunkRow.chunk_no)
        )
        with translate_sql_errors("reading chunks"), Session(self._engine) as session:
            return [_chunk(row) for row in session.scalars(query)]

    def list_documents(self, kb: str) -> list[DocumentRecord]:
        query = select(DocumentRow).where(DocumentRow.kb == kb).order_by(DocumentRow.doc_id)
        with translate_sql_errors("listing documents"), Session(self._engine) as session:
            return [_record(row) for row in session.scalars(query)]

    def count_chunks(self, kb: str) -> int:
        query = select(func.count()).select_from(ChunkRow).where(ChunkRow.kb == kb)
        with translate_sql_errors("counting chunks"), Session(self._engine) as session:
            return int(session.scalar(query) or 0)

    def knowledge_bases(self) -> list[str]:
        query = select(DocumentRow.kb).distinct().order_by(DocumentRow.kb)
        with translate_sql_errors("listing knowledge bases"), Session(self._engine) as session:
            return list(session.scalars(query))

    def close(self) -> None:
        """Nothing to release: the engine is shared by every store of this process (see ``get_engine``)."""

    def _delete_chunks(self, session: Session, kb: str, doc_ids: Sequence[str]) -> None:
        for group in _groups(doc_ids):
            session.execute(delete(ChunkRow).where(ChunkRow.kb == kb, ChunkRow.doc_id.in_(group)))

    def _upsert_records(self, session: Session, rows: list[dict[str, Any]]) -> None:
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            upsert: Any = postgresql.insert(DocumentRow)
        elif dialect == "sqlite":
            upsert = sqlite.insert(DocumentRow)
        else:
            raise NotImplementedError(f"the SQL document store supports SQLite and PostgreSQL, not {dialect}")
        updates = {name: upsert.excluded[name] for name in _RECORD_FIELDS if name not in _KEY_FIELDS}
        session.execute(upsert.on_conflict_do_update(index_elements=list(_KEY_FIELDS), set_=updates), rows)


def _groups(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _IDS_PER_STATEMENT] for i in range(0, len(values), _IDS_PER_STATEMENT)]


def _chunk_row(kb: str, chunk: Chunk) -> dict[str, Any]:
    return {"kb": kb, "doc_id": chunk.doc_id, **chunk.model_dump(include=set(_CHUNK_FIELDS))}


def _chunk(row: ChunkRow) -> Chunk:
    return Chunk(doc_id=row.doc_id, **{name: getattr(row, name) for name in _CHUNK_FIELDS})


def _record(row: DocumentRow) -> DocumentRecord:
    return DocumentRecord.model_validate({name: getattr(row, name) for name in _RECORD_FIELDS})
