"""Ingestion past one machine: a large source split into shards that run in parallel on a work pool.

plan (list the source once; each document's shard is a stable hash of its id) -> one flow run of the
ingest deployment per shard, started together as sub-flow runs (a process pool here, a Kubernetes pool in
production: the deployment's pool decides) -> wait -> collect each shard's summary -> once every shard has
completed, the final step: delete documents gone from the source, the consistency check -> summary
artifacts. A shard never deletes: it sees only part of the source. A shard that failed or was killed
leaves the parent failed, with nothing deleted; running the parent again gives every shard the same
documents, and each skips what it already wrote.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

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
    Source,
    effective_settings,
)
from genai.ingest.shard_summary import ShardedSummary
from genai.ingest.sharded import DEFAULT_DEPLOYMENT, Deployment, Shards, WaitSeconds
from genai.settings import get_settings
from tasks import ingest_sharded as steps


@flow(name="ingest_sharded", log_prints=True)  # flows/NAME.py:NAME, as every flow
def ingest_sharded(
    source: Source,
    knowledge_base: KnowledgeBase,
    shards: Shards = 4,
    deployment: Deployment = DEFAULT_DEPLOYMENT,
    wait_seconds: WaitSeconds = 6 * 3600.0,
    include: Include = (),
    exclude: Exclude = (),
    doc_ids: DocIds = {},  # noqa: B006 -- a read-only Mapping; the UI needs a JSON default, not null
    keep_deleted: KeepDeleted = False,
    chunk_tokens: ChunkTokens = PLATFORM_CHUNK_TOKENS,
    overlap_tokens: OverlapTokens = PLATFORM_OVERLAP_TOKENS,
) -> ShardedSummary:
    """Ingest ``source`` into ``knowledge_base`` as ``shards`` parallel runs of ``deployment``."""
    request = IngestRequest(
        source=source,
        knowledge_base=knowledge_base,
        include=include,
        exclude=exclude,
        doc_ids=doc_ids,
        keep_deleted=keep_deleted,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
    )
    settings = effective_settings(get_settings(), request)
    plan = steps.plan_shards(request, settings.ingest, shards)
    started = steps.start_shards(request, plan, deployment)
    states = steps.wait_for_runs(list(started.values()), wait_seconds)
    summary = ShardedSummary(
        run_id=str(flow_run.get_id() or "local"),
        kb=knowledge_base,
        source=source,
        shard_count=shards,
        deployment=deployment,
        shards=steps.collect(plan, started, states, settings),
    )
    if not summary.unfinished():
        final = steps.finish(request, settings)
        summary.finalized = True
        summary.deleted, summary.repaired, summary.total_chunks = (
            final.deleted,
            final.repaired,
            final.total_chunks,
        )
    steps.publish(summary)
    logger = get_run_logger()
    logger.info("ingest-sharded %s: %s", knowledge_base, summary.model_dump_json(exclude={"shards"}))
    unfinished = summary.unfinished()
    if unfinished:
        names = ", ".join(f"{shard.label} {shard.state}" for shard in unfinished)
        raise RuntimeError(
            f"shard run(s) not completed: {names}; nothing was deleted. Run again with the same parameters: "
            "each shard gets the same documents and skips those already written."
        )
    return summary
