"""The ingestion stages as plain functions. Prefect tasks (``tasks/ingest.py``) wrap them one to one; tests
and other callers use them without Prefect.

Write order is what makes a run crash-safe: for each document its vectors are upserted (deterministic ids),
its stale vectors removed, its chunks replaced in the document store, and its document record written last.
A run killed anywhere leaves either the old record (the next run redoes the document) or the new one (the
document is complete), never duplicates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from genai.ingest.chunking import chunk_document
from genai.ingest.parsers import parse
from genai.ingest.records import Chunk, DocumentRecord, ParsedDocument, QuarantineRecord, SourceFile
from genai.ingest.request import IngestRequest
from genai.ingest.shards import select_shard
from genai.ingest.sources import discover
from genai.ingest.stores import IngestStores
from genai.quality.chunks_suite import validate_chunks
from genai.quality.documents_suite import validate_documents
from genai.quality.gx_runner import merge_failures
from genai.settings import ChunkingSettings, EmbeddingSettings, IngestSettings, ResolvedRetrieval
from genai.stores.vectors_hybrid import SparseTerms


@dataclass
class CheckedDocuments:
    """Documents that passed the quality suite, and quarantine entries for those that did not."""

    accepted: list[ParsedDocument]
    quarantined: list[QuarantineRecord]
    verdict: str


@dataclass
class ChunkedWindow:
    """A group of documents with their chunks, embedded and written together."""

    docs: list[ParsedDocument] = field(default_factory=list)
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)

    @property
    def chunk_count(self) -> int:
        return sum(len(chunks) for chunks in self.chunks.values())

    def all_chunks(self) -> list[Chunk]:
        return [chunk for doc in self.docs for chunk in self.chunks[doc.doc_id]]


def discover_files(request: IngestRequest, ingest: IngestSettings) -> list[SourceFile]:
    """The whole source's files with their document ids (the request's own ids applied), not yet read."""
    root = Path(request.source).expanduser()
    include = request.include or ingest.include
    files = discover(root, include, request.exclude or ingest.exclude)
    if not request.doc_ids:
        return files
    return [
        file.model_copy(update={"doc_id": request.doc_ids[file.source]})
        if file.source in request.doc_ids
        else file
        for file in files
    ]


def load_documents(request: IngestRequest, ingest: IngestSettings) -> list[ParsedDocument]:
    """Find the files of the request's shard (the whole source unless sharded) and parse each; failures
    come back as documents carrying their reason."""
    files = select_shard(discover_files(request, ingest), request.shard)
    docs = []
    for index, source_file in enumerate(files, start=1):
        docs.append(parse(source_file, ingest.max_document_bytes))
        _report("parse", index, len(files))
    return docs


def _quarantine_entries(
    failed: dict[str, list[tuple[str, str]]], docs: Sequence[ParsedDocument], kb: str, run_id: str
) -> list[QuarantineRecord]:
    sources = {doc.doc_id: doc.source for doc in docs}
    now = datetime.now(UTC)
    entries = []
    for doc_id, pairs in failed.items():
        checks, reason = merge_failures(pairs)
        entries.append(
            QuarantineRecord(
                kb=kb,
                run_id=run_id,
                doc_id=doc_id,
                source=sources.get(doc_id, doc_id),
                check=checks,
                reason=reason,
                created_at=now,
            )
        )
    return entries


def check_documents(
    docs: list[ParsedDocument], ingest: IngestSettings, kb: str, run_id: str
) -> CheckedDocuments:
    """Run the document quality suite; failing documents become quarantine entries."""
    outcome, failed = validate_documents(docs, ingest)
    accepted = [doc for doc in docs if doc.doc_id not in failed]
    verdict = f"{len(accepted)}/{len(docs)} passed" + (
        f"; failed checks: {', '.join(outcome.failed_checks)}" if outcome.failed_checks else ""
    )
    return CheckedDocuments(accepted, _quarantine_entries(failed, docs, kb, run_id), verdict)


def chunk_documents(
    docs: list[ParsedDocument], embedding: EmbeddingSettings, chunking: ChunkingSettings, kb: str, run_id: str
) -> tuple[ChunkedWindow, list[QuarantineRecord], int]:
    """Chunk documents with the embedding model's tokenizer and run the chunk quality suite on them.

    Returns the documents that passed with their chunks, quarantine entries for the rest, and the number of
    chunks checked."""
    from genai.embedding.model_path import model_max_seq_length, resolve_model_path
    from genai.embedding.tokenizer import load_tokenizer, special_token_count
    from genai.ingest.chunking import check_fits_model

    tokenizer = load_tokenizer(embedding.model)
    model_limit = embedding.max_seq_length or model_max_seq_length(resolve_model_path(embedding.model))
    check_fits_model(chunking, model_limit, special_token_count(tokenizer))
    reuse_ids = _embeds_on_gpu(embedding)
    window = ChunkedWindow()
    for doc in docs:
        window.docs.append(doc)
        window.chunks[doc.doc_id] = chunk_document(doc, tokenizer, chunking, reuse_ids)
    chunks = window.all_chunks()
    _, failed = validate_chunks(chunks, chunking)
    if failed:
        window.docs = [doc for doc in window.docs if doc.doc_id not in failed]
        for doc_id in failed:
            del window.chunks[doc_id]
    return window, _quarantine_entries(failed, docs, kb, run_id), len(chunks)


def in_groups(docs: Sequence[ParsedDocument], size: int) -> Iterator[list[ParsedDocument]]:
    """Consecutive groups of at most ``size`` documents."""
    for start in range(0, len(docs), size):
        yield list(docs[start : start + size])


def windows(window: ChunkedWindow, max_chunks: int) -> Iterator[ChunkedWindow]:
    """Split a chunked batch at document boundaries into windows of about ``max_chunks`` chunks."""
    current = ChunkedWindow()
    for doc in window.docs:
        current.docs.append(doc)
        current.chunks[doc.doc_id] = window.chunks[doc.doc_id]
        if current.chunk_count >= max_chunks:
            yield current
            current = ChunkedWindow()
    if current.docs:
        yield current


def _embeds_on_gpu(embedding: EmbeddingSettings) -> bool:
    """Whether the embedding stage runs on CUDA, where reusing the chunker's token ids pays: there the
    forward pass outruns the host's tokenizers (docs/benchmarks/embedding.md); on the CPU it costs nothing
    to tokenize again, and embedding the text keeps vectors identical to the gateway's."""
    if embedding.device != "auto":
        return embedding.device == "cuda"
    import torch

    return bool(torch.cuda.is_available())


def embed_chunks(
    chunks: Sequence[Chunk], embedding: EmbeddingSettings, texts: Sequence[str] | None = None
) -> np.ndarray:
    """Embed chunks with the process's shared encoder, from their token ids when the chunker kept them.
    ``texts`` (contextual chunks: ``index_texts``) are embedded instead of the chunks' own text."""
    from genai.embedding.shared import encoder_for

    encoder = encoder_for(embedding)
    if texts is not None:
        return encoder.encode(list(texts))
    if chunks and all(chunk.token_ids is not None for chunk in chunks):
        with contextlib.suppress(NotImplementedError):  # models with prompts or special wrapping
            return encoder.encode_ids([chunk.token_ids or [] for chunk in chunks])
    return encoder.encode([chunk.text for chunk in chunks])


def write_window(
    window: ChunkedWindow,
    vectors: np.ndarray,
    stores: IngestStores,
    kb: str,
    version: str,
    replaced: set[str] | frozenset[str] = frozenset(),
    index: ResolvedRetrieval | None = None,
) -> int:
    """Write a window's vectors and chunks in crash-safe order; returns the number of chunks written.

    ``replaced`` names documents that already had a stored version: only they can own stale points (a
    crashed run's leftovers of a new document are caught by ``remove_stray_vectors``). ``index`` (the
    knowledge base's ``settings.retrieval.for_kb``) says whether BM25 sparse vectors go with the dense ones
    and whether they are built from contextual text; None: dense only."""
    now = datetime.now(UTC)
    sparse = _sparse_vectors(window, index)
    points, items = [], []
    offset = 0
    for doc in window.docs:
        chunks = window.chunks[doc.doc_id]
        extras = {
            "doc_hash": doc.content_hash,
            "pipeline_version": version,
            "source": doc.source,
            "title": doc.title,
            "type": doc.type,
        }
        points += [(chunk, vectors[offset + i], extras) for i, chunk in enumerate(chunks)]
        offset += len(chunks)
        items.append((_record(doc, chunks, kb, version, now), chunks))
    with stores.vectors.held():  # one open (and lock) of a shared local folder for the window's writes
        stores.vectors.ensure_collection(kb, int(vectors.shape[1]), sparse=sparse is not None)
        stores.vectors.upsert(kb, points, sparse)
        stores.vectors.delete_stale_many(
            kb, {doc.doc_id: (doc.content_hash, version) for doc in window.docs if doc.doc_id in replaced}
        )
    stores.documents.replace_documents(kb, items)
    return offset


def index_texts(window: ChunkedWindow, contextual: bool) -> list[str]:
    """The texts a window's chunks are indexed by (``genai.retrieval.contextual``), as ``all_chunks``."""
    from genai.retrieval.contextual import index_texts as texts_of

    return texts_of(window.all_chunks(), {doc.doc_id: doc.title for doc in window.docs}, contextual)


def _sparse_vectors(window: ChunkedWindow, index: ResolvedRetrieval | None) -> list[SparseTerms] | None:
    if index is None or not index.sparse:
        return None
    from genai.retrieval.sparse import document_vectors

    return document_vectors(index_texts(window, index.contextual))


def _record(doc: ParsedDocument, chunks: list[Chunk], kb: str, version: str, now: datetime) -> DocumentRecord:
    return DocumentRecord(
        kb=kb,
        doc_id=doc.doc_id,
        source=doc.source,
        title=doc.title,
        type=doc.type,
        size_bytes=doc.size_bytes,
        modified=doc.modified,
        content_hash=doc.content_hash,
        pipeline_version=version,
        chunk_count=len(chunks),
        token_count=sum(chunk.token_count for chunk in chunks),
        ingested_at=now,
    )


def delete_documents(doc_ids: Sequence[str], stores: IngestStores, kb: str) -> int:
    """Remove documents from both stores: vectors first, the document record last."""
    if not doc_ids:
        return 0
    stores.vectors.delete_documents(kb, list(doc_ids))
    return stores.documents.delete_documents(kb, list(doc_ids))


def _report(stage: str, done: int, total: int) -> None:
    from genai.ingest.progress import report

    report(stage, done, total)


def remove_stray_vectors(stores: IngestStores, kb: str) -> int:
    """Delete points that no complete document owns: those of documents without a record (a crashed run
    wrote vectors but not the record) and those of a version other than the recorded one. Cheap when the
    stores agree, which is every run that was not interrupted."""
    if stores.vectors.count(kb) == stores.documents.count_chunks(kb):
        return 0
    states = stores.documents.stored_states(kb)
    orphans: list[str] = []
    stale: dict[str, tuple[str, str]] = {}
    removed = 0
    for (doc_id, doc_hash, version), points in stores.vectors.point_owners(kb).items():
        state = states.get(doc_id)
        if state is None:
            orphans.append(doc_id)
        elif (state.content_hash, state.pipeline_version) != (doc_hash, version):
            stale[doc_id] = (state.content_hash, state.pipeline_version)
        else:
            continue
        removed += points
    stores.vectors.delete_documents(kb, orphans)
    stores.vectors.delete_stale_many(kb, stale)
    return removed
