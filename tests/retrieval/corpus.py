"""A small reference corpus of look-alike names (PostgreSQL statistics views, described in our own words),
written as knowledge bases through the real ingestion stages, and a legacy (unnamed-vector) collection."""

from __future__ import annotations

import hashlib

from genai.ingest import stages
from genai.ingest.records import ParsedDocument
from genai.ingest.stores import IngestStores
from genai.ingest.versioning import pipeline_version
from genai.settings import Settings

# The embedding model ranks subscription.md above replication.md for the query "pg_stat_replication":
# both are about replication and the names differ in one word. BM25 on the exact name does not.
VIEWS = {
    "replication.md": (
        "Replication senders",
        "pg_stat_replication shows one row per WAL sender process, with the standby's address and how far "
        "it has replayed.",
    ),
    "receiver.md": (
        "WAL receiver",
        "pg_stat_wal_receiver shows the state of the WAL receiver on a standby: its status, the last "
        "received location and the primary it connects to.",
    ),
    "archiver.md": (
        "Archiver",
        "pg_stat_archiver shows one row about the WAL archiver: archived and failed counts and the last "
        "archived file.",
    ),
    "wal.md": (
        "WAL activity",
        "pg_stat_wal shows WAL activity for the whole cluster: records, full page images and bytes written.",
    ),
    "slots.md": (
        "Replication slots",
        "pg_replication_slots lists the replication slots that exist and their state, including the WAL "
        "they retain.",
    ),
    "subscription.md": (
        "Subscriptions",
        "pg_stat_subscription shows the logical replication workers of each subscription and the last "
        "message received from the publisher.",
    ),
}
EXACT_QUERY, EXACT_DOC, DENSE_FIRST = "pg_stat_replication", "replication.md", "subscription.md"


def document(doc_id: str, title: str, text: str) -> ParsedDocument:
    """A document of ``text`` alone (a markdown heading line would be embedded with it); markdown with
    ``#`` heading lines in ``text`` gets heading paths."""
    body = f"{text}\n"
    return ParsedDocument(
        doc_id=doc_id,
        source=doc_id,
        title=title,
        type="markdown" if text.startswith("#") else "text",
        size_bytes=len(body),
        text=body,
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
    )


def views_documents() -> list[ParsedDocument]:
    return [document(doc_id, title, text) for doc_id, (title, text) in VIEWS.items()]


def write_kb(settings: Settings, kb: str, docs: list[ParsedDocument]) -> str:
    """Chunk, embed and write ``docs`` into ``kb`` as the ingestion flow does; returns the version."""
    index = settings.retrieval.for_kb(kb)
    version = pipeline_version(settings.chunking, settings.embedding, index)
    window, rejected, _ = stages.chunk_documents(docs, settings.embedding, settings.chunking, kb, "test")
    assert not rejected
    texts = stages.index_texts(window, True) if index.contextual else None
    vectors = stages.embed_chunks(window.all_chunks(), settings.embedding, texts)
    with IngestStores.open(settings) as stores:
        stages.write_window(window, vectors, stores, kb, version, index=index)
    return version


def write_legacy_kb(settings: Settings, kb: str, docs: list[ParsedDocument]) -> None:
    """What the platform wrote before sparse vectors: one unnamed dense vector per point."""
    from qdrant_client.http import models

    from genai.stores.vectors import VectorStore, _payload, point_id

    window, _, _ = stages.chunk_documents(docs, settings.embedding, settings.chunking, kb, "test")
    chunks = window.all_chunks()
    vectors = stages.embed_chunks(chunks, settings.embedding)
    titles = {doc.doc_id: doc for doc in window.docs}
    with VectorStore(settings.qdrant) as store, store._call("legacy") as client:
        name = store.collection_name(kb)
        store.forget_index(name)  # written behind the store's back: its in-memory index must go
        client.create_collection(
            name, vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE)
        )
        client.upsert(
            name,
            points=[
                models.PointStruct(
                    id=point_id(chunk.doc_id, chunk.chunk_no),
                    vector=[float(x) for x in vectors[i]],
                    payload=_payload(
                        chunk,
                        {
                            "doc_hash": titles[chunk.doc_id].content_hash,
                            "pipeline_version": "legacy",
                            "source": chunk.doc_id,
                            "title": titles[chunk.doc_id].title,
                            "type": "markdown",
                        },
                    ),
                )
                for i, chunk in enumerate(chunks)
            ],
            wait=True,
        )


def make_legacy(settings: Settings, kb: str) -> None:
    """Rewrite ``kb``'s collection as the platform wrote it before sparse vectors (same points, same
    payloads, one unnamed dense vector each)."""
    from qdrant_client.http import models

    from genai.stores.vectors import VectorStore
    from genai.stores.vectors_hybrid import DENSE

    with VectorStore(settings.qdrant) as store, store._call("legacy") as client:
        name = store.collection_name(kb)
        points, _ = client.scroll(name, limit=10_000, with_vectors=True, with_payload=True)
        store.forget_index(name)  # written behind the store's back: its in-memory index must go
        client.delete_collection(name)
        client.create_collection(
            name, vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE)
        )
        client.upsert(
            name,
            points=[
                models.PointStruct(id=point.id, vector=point.vector[DENSE], payload=point.payload)  # type: ignore[index,call-overload]
                for point in points
            ],
            wait=True,
        )
