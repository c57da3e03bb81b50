"""The ingestion flow: a folder of documents becomes searchable, quality-checked chunks in a knowledge base.

parse -> document quality suite (failures quarantined) -> plan by content hash (unchanged skipped, changed
replaced, gone deleted) -> chunk + chunk quality suite -> embed in windows -> write vectors and chunks ->
consistency check -> summary artifacts. Run it from the Prefect UI, from `genai ingest`, through the Prefect
REST API, or by calling ``ingest(source=..., knowledge_base=...)``. The parameters are flat and typed
(see ``genai.ingest.request``) so that the UI's run form and Parameters tab show each one by name.
"""

from dataclasses import dataclass

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run

from genai.ingest import stages
from genai.ingest.progress import report
from genai.ingest.request import (
    PLATFORM_CHUNK_TOKENS,
    PLATFORM_OVERLAP_TOKENS,
    ChunkTokens,
    DocIds,
    Exclude,
    Include,
    IngestRequest,
    KeepDeleted,
    KnowledgeBase,
    OverlapTokens,
    ShardCount,
    ShardIndex,
    Source,
    effective_settings,
)
from genai.ingest.stages import ChunkedWindow, in_groups, windows
from genai.ingest.stores import IngestStores
from genai.ingest.summary import IngestSummary
from genai.ingest.tally import RunTally
from genai.ingest.versioning import pipeline_version
from genai.settings import Settings, get_settings
from tasks import ingest as steps
from tasks.reporting import ProgressArtifact, publish_summary


@flow(name="ingest", log_prints=True)
def ingest(
    source: Source,
    knowledge_base: KnowledgeBase,
    include: Include = (),
    exclude: Exclude = (),
    doc_ids: DocIds = {},  # noqa: B006 -- a read-only Mapping; the UI needs a JSON default, not null
    keep_deleted: KeepDeleted = False,
    chunk_tokens: ChunkTokens = PLATFORM_CHUNK_TOKENS,
    overlap_tokens: OverlapTokens = PLATFORM_OVERLAP_TOKENS,
    shard_index: ShardIndex = 0,
    shard_count: ShardCount = 1,
) -> IngestSummary:
    """Ingest ``source`` into ``knowledge_base``; re-runs change only what changed. With ``shard_count``
    above 1 the run ingests one shard of the source and deletes nothing (``flows/ingest_sharded.py``)."""
    request = IngestRequest(
        source=source,
        knowledge_base=knowledge_base,
        include=include,
        exclude=exclude,
        doc_ids=doc_ids,
        keep_deleted=keep_deleted,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        shard_index=shard_index,
        shard_count=shard_count,
    )
    settings = effective_settings(get_settings(), request)
    kb, run_id = request.knowledge_base, str(flow_run.get_id() or "local")
    version = pipeline_version(settings.chunking, settings.embedding, settings.retrieval.for_kb(kb))
    tally = RunTally(run_id, kb, request.source, version)
    with IngestStores.open(settings, parallel_writers=request.shard.sharded) as stores:
        stores.runs.start_run(run_id, kb)
        try:
            _ingest(request, settings, stores, tally)
        except BaseException:
            stores.runs.finish_run(run_id, "failed", tally.summary.model_dump(mode="json"))
            raise
        stores.runs.finish_run(run_id, "completed", tally.summary.model_dump(mode="json"))
    publish_summary(tally.summary, scope=request.shard.label() if request.shard.sharded else "")
    get_run_logger().info("ingest %s: %s", kb, tally.summary.model_dump_json(exclude={"quality"}))
    return tally.summary


def _ingest(request: IngestRequest, settings: Settings, stores: IngestStores, tally: RunTally) -> None:
    kb, run_id, version = request.knowledge_base, tally.summary.run_id, tally.summary.pipeline_version
    index = settings.retrieval.for_kb(kb)  # sparse vectors, contextual chunks (docs/retrieval.md)
    # A shard sees part of the source: what it does not see is another shard's, not gone.
    partial = request.shard.sharded
    with tally.stage("parse"):
        docs = steps.load_documents(request, settings.ingest)
    with tally.stage("check"):
        checked = steps.check_documents(docs, settings.ingest, kb, run_id)
        steps.quarantine(checked.quarantined, stores)
        tally.documents_quarantined(checked.quarantined, checked.verdict)
        plan = steps.plan(
            checked.accepted,
            [d.doc_id for d in docs],
            stores,
            kb,
            version,
            settings.ingest.keep_deleted or partial,
        )
        tally.planned(len(docs), plan)
    progress = Progress(
        ProgressArtifact(kb, scope=request.shard.label() if partial else ""), len(plan.to_embed)
    )
    replaced = {doc.doc_id for doc in plan.changed}
    writing: PendingWrite | None = None
    if plan.to_embed:
        with tally.stage("model"):
            steps.load_model(settings.embedding)
    try:
        for group in in_groups(plan.to_embed, settings.ingest.batch_documents):
            with tally.stage("chunk"):
                chunked, rejected, checked_count = steps.chunk_documents(
                    group, settings.embedding, settings.chunking, kb, run_id
                )
                steps.quarantine(rejected, stores)
                tally.chunks_checked(checked_count, rejected, plan)
                progress.advance(len(rejected))
            for window in windows(chunked, settings.ingest.window_chunks):
                with tally.stage("embed"):
                    texts = stages.index_texts(window, True) if index.contextual else None
                    vectors = steps.embed_chunks(window.all_chunks(), settings.embedding, texts)
                with tally.stage("write"):
                    # One write in flight: window N is written while window N+1 is embedded.
                    _finish(writing, tally, progress)
                    writing = None
                    future = steps.write_window.submit(window, vectors, stores, kb, version, replaced, index)
                    writing = PendingWrite(future, window)
        if writing is not None:
            with tally.stage("write"):
                _finish(writing, tally, progress)
    except BaseException:
        if writing is not None:
            writing.future.wait()  # never close the stores under a write still in flight
        raise
    with tally.stage("delete"):
        # The consistency check removes points no record owns yet: in a shard those may be another
        # shard's window in flight, so only the parent run checks, once every shard has finished.
        if not partial:
            tally.summary.deleted = steps.delete_documents(plan.deleted, stores, kb)
            tally.summary.repaired = steps.verify_consistency(stores, kb)
        tally.summary.total_chunks = stores.documents.count_chunks(kb)
    progress.complete()


@dataclass
class PendingWrite:
    """A window being written in the background."""

    future: PrefectFuture[int]
    window: ChunkedWindow


class Progress:
    """Documents embedded and written, reported to the Prefect progress artifact and CLI listeners."""

    def __init__(self, artifact: ProgressArtifact, total: int) -> None:
        self.artifact, self.total, self.done = artifact, total, 0

    def advance(self, documents: int) -> None:
        self.done += documents
        self.artifact.update(self.done, self.total)
        report("embed", self.done, self.total)

    def complete(self) -> None:
        self.artifact.update(self.total, self.total)


def _finish(writing: PendingWrite | None, tally: RunTally, progress: Progress) -> None:
    """Wait for a background write; its failure fails the run here."""
    if writing is None:
        return
    written = writing.future.result()
    tally.written(written, sum(chunk.token_count for chunk in writing.window.all_chunks()))
    progress.advance(len(writing.window.docs))
