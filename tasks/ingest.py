"""The ingestion flow's tasks. Each is one coarse step over a batch (never one task per chunk) and calls
one plain function from ``genai.ingest``. Caching is off: inputs are large and runs must see fresh data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from genai.ingest import stages
from genai.ingest.plan import IngestPlan, plan_changes
from genai.ingest.records import Chunk, ParsedDocument, QuarantineRecord
from genai.ingest.request import IngestRequest
from genai.ingest.stores import IngestStores
from genai.settings import ChunkingSettings, EmbeddingSettings, IngestSettings, ResolvedRetrieval
from tasks.retry import STORE_TASK_OPTIONS


@task(name="load-documents", cache_policy=NO_CACHE)
def load_documents(request: IngestRequest, ingest: IngestSettings) -> list[ParsedDocument]:
    """Discover and parse the source's documents."""
    return stages.load_documents(request, ingest)


@task(name="check-documents", cache_policy=NO_CACHE)
def check_documents(
    docs: list[ParsedDocument], ingest: IngestSettings, kb: str, run_id: str
) -> stages.CheckedDocuments:
    """Run the document quality suite (Great Expectations)."""
    return stages.check_documents(docs, ingest, kb, run_id)


@task(name="quarantine", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def quarantine(records: list[QuarantineRecord], stores: IngestStores) -> int:
    """Store quarantined documents with their reasons."""
    stores.quarantine.add(records)
    return len(records)


@task(name="plan-changes", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def plan(
    accepted: list[ParsedDocument],
    present_ids: list[str],
    stores: IngestStores,
    kb: str,
    version: str,
    keep_deleted: bool,
) -> IngestPlan:
    """Compare content hashes with the document store: new, changed, unchanged, deleted."""
    return plan_changes(accepted, stores.documents.stored_states(kb), version, present_ids, keep_deleted)


@task(name="chunk-documents", cache_policy=NO_CACHE)
def chunk_documents(
    docs: list[ParsedDocument], embedding: EmbeddingSettings, chunking: ChunkingSettings, kb: str, run_id: str
) -> tuple[stages.ChunkedWindow, list[QuarantineRecord], int]:
    """Chunk a batch of documents and run the chunk quality suite."""
    return stages.chunk_documents(docs, embedding, chunking, kb, run_id)


@task(name="load-model", cache_policy=NO_CACHE)
def load_model(embedding: EmbeddingSettings) -> None:
    """Load the embedding model once, in a stage of its own, so that the embed stage's seconds (and the rate
    the summary shows) measure embedding, not the load."""
    from genai.embedding.shared import encoder_for

    encoder_for(embedding)


@task(name="embed-chunks", cache_policy=NO_CACHE)
def embed_chunks(
    chunks: Sequence[Chunk], embedding: EmbeddingSettings, texts: Sequence[str] | None = None
) -> np.ndarray:
    """Embed a window of chunks (their contextual ``texts`` when given)."""
    return stages.embed_chunks(chunks, embedding, texts)


@task(name="write-chunks", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def write_window(
    window: stages.ChunkedWindow,
    vectors: np.ndarray,
    stores: IngestStores,
    kb: str,
    version: str,
    replaced: set[str],
    index: ResolvedRetrieval | None = None,
) -> int:
    """Upsert a window's vectors (dense, and sparse when ``index`` says so) and chunks, records last."""
    return stages.write_window(window, vectors, stores, kb, version, replaced, index)


@task(name="delete-documents", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def delete_documents(doc_ids: list[str], stores: IngestStores, kb: str) -> int:
    """Remove documents gone from the source."""
    return stages.delete_documents(doc_ids, stores, kb)


@task(name="verify-consistency", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def verify_consistency(stores: IngestStores, kb: str) -> int:
    """Remove vectors that no complete document owns (left by a crashed run); returns how many."""
    return stages.remove_stray_vectors(stores, kb)
