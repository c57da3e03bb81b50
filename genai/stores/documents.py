"""The document store: document records and chunk texts of every knowledge base, behind one interface.

Two backends keep the same contract: ``SqlDocumentStore`` (SQLite by default, PostgreSQL) and
``MongoDocumentStore``. ``open_document_store(config, sql_url)`` picks one from ``document_store``.

The contract the ingestion flow relies on:

* A ``DocumentRecord`` is written after all of its document's chunks, so it is the document's commit
  marker. A run that dies half-way leaves no record, or the old one with the old hash, and the next run
  sees a stale ``StoredState`` and writes the document again. The SQL backend also makes each
  ``replace_documents`` call one transaction; MongoDB writes chunks first, records last.
* Replacing a document removes all of its previous chunks, so a document that shrank keeps no stale chunk.
* Deleting removes chunks first and the record last, for the same reason.
* Connection-level failures surface as ``TransientStoreError``; the call may then be repeated as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from genai.ingest.records import Chunk, DocumentRecord, StoredState
from genai.settings import DocumentStoreSettings

DocumentBatch = Sequence[tuple[DocumentRecord, Sequence[Chunk]]]


@runtime_checkable
class DocumentStore(Protocol):
    """What the pipeline and the gateway need from a document store."""

    def stored_states(self, kb: str) -> dict[str, StoredState]:
        """doc_id -> the content hash and pipeline version of every stored document of ``kb``."""
        ...

    def replace_documents(self, kb: str, items: DocumentBatch) -> None:
        """Store each document's chunks in place of its old ones, then its record (last)."""
        ...

    def delete_documents(self, kb: str, doc_ids: Sequence[str]) -> int:
        """Remove documents and their chunks; returns how many document records were removed."""
        ...

    def get_document(self, kb: str, doc_id: str) -> DocumentRecord | None: ...

    def get_chunks(self, kb: str, doc_id: str) -> list[Chunk]:
        """The document's chunks in chunk_no order (empty when it has none)."""
        ...

    def list_documents(self, kb: str) -> list[DocumentRecord]:
        """Every document record of ``kb``, ordered by doc_id."""
        ...

    def count_chunks(self, kb: str) -> int: ...

    def knowledge_bases(self) -> list[str]:
        """Names of the knowledge bases that hold at least one document record, sorted."""
        ...

    def close(self) -> None: ...


def check_batch(kb: str, items: DocumentBatch) -> None:
    """Reject a batch that would store something other than what its records describe."""
    seen: set[str] = set()
    for record, chunks in items:
        if record.kb != kb:
            raise ValueError(f"document {record.doc_id!r} belongs to kb {record.kb!r}, not {kb!r}")
        if record.doc_id in seen:
            raise ValueError(f"document {record.doc_id!r} appears twice in one batch")
        seen.add(record.doc_id)
        strangers = {chunk.doc_id for chunk in chunks} - {record.doc_id}
        if strangers:
            raise ValueError(f"chunks of {sorted(strangers)} given with document {record.doc_id!r}")


def open_document_store(config: DocumentStoreSettings, sql_url: str) -> DocumentStore:
    """The store the ``document_store`` section names: the SQL database at ``sql_url``, or MongoDB."""
    if config.backend == "mongodb":
        from genai.stores.documents_mongo import MongoDocumentStore

        assert config.mongodb_url is not None  # Settings refuses mongodb without a URL
        return MongoDocumentStore(config.mongodb_url, config.mongodb_database)
    from genai.stores.documents_sql import SqlDocumentStore

    return SqlDocumentStore(sql_url)
