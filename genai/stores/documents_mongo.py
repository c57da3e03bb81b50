"""The document store in MongoDB: collections ``documents`` and ``chunks`` of one database.

MongoDB gives no transaction across a batch here (it would need a replica set), so the order of writes
carries the guarantee: one ordered bulk write removes the batch's old chunks and inserts the new ones,
and only then a second bulk write upserts the document records. Timestamps come back in UTC, to the
millisecond (BSON's precision).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DeleteMany, InsertOne, MongoClient, ReplaceOne
from pymongo.errors import ConnectionFailure, PyMongoError

from genai.ingest.records import Chunk, DocumentRecord, StoredState
from genai.stores.documents import DocumentBatch, check_batch
from genai.stores.errors import TransientStoreError

_TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError")
_HIDDEN = {"_id": False}


@contextmanager
def translate_mongo_errors(operation: str) -> Iterator[None]:
    """Re-raise pymongo's connection-level and retryable errors as ``TransientStoreError``."""
    try:
        yield
    except PyMongoError as error:
        if isinstance(error, ConnectionFailure) or any(map(error.has_error_label, _TRANSIENT_LABELS)):
            raise TransientStoreError(f"{operation}: {error}") from error
        raise


class MongoDocumentStore:
    """``DocumentStore`` over pymongo. Creates its unique indexes when opened (idempotent)."""

    def __init__(
        self, url: str, database: str = "genai", *, server_selection_timeout_ms: int = 10_000
    ) -> None:
        self._client: MongoClient[dict[str, Any]] = MongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=server_selection_timeout_ms, appname="genai"
        )
        db = self._client[database]
        self._documents = db["documents"]
        self._chunks = db["chunks"]
        try:
            with translate_mongo_errors("creating document store indexes"):
                self._documents.create_index(
                    [("kb", ASCENDING), ("doc_id", ASCENDING)], unique=True, name="kb_doc_id"
                )
                self._chunks.create_index(
                    [("kb", ASCENDING), ("doc_id", ASCENDING), ("chunk_no", ASCENDING)],
                    unique=True,
                    name="kb_doc_id_chunk_no",
                )
        except BaseException:
            self._client.close()
            raise

    def stored_states(self, kb: str) -> dict[str, StoredState]:
        projection = {**_HIDDEN, "doc_id": True, "content_hash": True, "pipeline_version": True}
        with translate_mongo_errors("reading stored states"):
            return {
                doc["doc_id"]: StoredState(
                    content_hash=doc["content_hash"], pipeline_version=doc["pipeline_version"]
                )
                for doc in self._documents.find({"kb": kb}, projection)
            }

    def replace_documents(self, kb: str, items: DocumentBatch) -> None:
        check_batch(kb, items)
        if not items:
            return
        doc_ids = [record.doc_id for record, _ in items]
        chunk_writes: list[Any] = [DeleteMany({"kb": kb, "doc_id": {"$in": doc_ids}})]
        chunk_writes += [InsertOne(_chunk_doc(kb, chunk)) for _, chunks in items for chunk in chunks]
        record_writes = [
            ReplaceOne({"kb": kb, "doc_id": record.doc_id}, record.model_dump(), upsert=True)
            for record, _ in items
        ]
        with translate_mongo_errors("replacing documents"):
            # Ordered: an insert failure stops the batch before any record is (re)written.
            self._chunks.bulk_write(chunk_writes, ordered=True)
            self._documents.bulk_write(record_writes, ordered=True)

    def delete_documents(self, kb: str, doc_ids: Sequence[str]) -> int:
        if not doc_ids:
            return 0
        selector = {"kb": kb, "doc_id": {"$in": list(doc_ids)}}
        with translate_mongo_errors("deleting documents"):
            self._chunks.delete_many(selector)
            return self._documents.delete_many(selector).deleted_count

    def get_document(self, kb: str, doc_id: str) -> DocumentRecord | None:
        with translate_mongo_errors("reading a document"):
            doc = self._documents.find_one({"kb": kb, "doc_id": doc_id}, _HIDDEN)
        return None if doc is None else _record(doc)

    def get_chunks(self, kb: str, doc_id: str) -> list[Chunk]:
        with translate_mongo_errors("reading chunks"):
            cursor = self._chunks.find({"kb": kb, "doc_id": doc_id}, {**_HIDDEN, "kb": False})
            return [Chunk.model_validate(doc) for doc in cursor.sort("chunk_no", ASCENDING)]

    def list_documents(self, kb: str) -> list[DocumentRecord]:
        with translate_mongo_errors("listing documents"):
            cursor = self._documents.find({"kb": kb}, _HIDDEN).sort("doc_id", ASCENDING)
            return [_record(doc) for doc in cursor]

    def count_chunks(self, kb: str) -> int:
        with translate_mongo_errors("counting chunks"):
            return self._chunks.count_documents({"kb": kb})

    def knowledge_bases(self) -> list[str]:
        with translate_mongo_errors("listing knowledge bases"):
            return sorted(self._documents.distinct("kb"))

    def close(self) -> None:
        self._client.close()


def _chunk_doc(kb: str, chunk: Chunk) -> dict[str, Any]:
    return {"kb": kb, **chunk.model_dump()}


def _record(doc: dict[str, Any]) -> DocumentRecord:
    for name in ("modified", "ingested_at"):
        value = doc.get(name)
        if isinstance(value, datetime):
            # pymongo tags its own UTC tzinfo; use the standard one so records compare and print alike.
            doc[name] = value.astimezone(UTC)
    return DocumentRecord.model_validate(doc)
