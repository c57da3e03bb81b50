"""The sharded ingestion's steps: plan, start the shard runs, wait for them, collect their outcomes, the
final step, and the parent's artifacts. Planning and the final step wrap plain functions of
``genai.ingest.sharded``; starting and waiting talk to the Prefect API."""

from __future__ import annotations

import time
from uuid import UUID

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun

from genai.ingest import sharded
from genai.ingest.request import IngestRequest
from genai.ingest.shard_summary import ShardedSummary, ShardOutcome
from genai.ingest.shards import ShardSpec
from genai.ingest.stores import IngestStores
from genai.ingest.summary import IngestSummary
from genai.settings import IngestSettings, Settings
from tasks.reporting import artifact_key
from tasks.retry import STORE_TASK_OPTIONS

POLL_SECONDS = 2.0


@task(name="plan-shards", cache_policy=NO_CACHE)
def plan_shards(request: IngestRequest, ingest: IngestSettings, count: int) -> sharded.ShardPlan:
    """List the source and count each shard's documents."""
    return sharded.plan_shards(request, ingest, count)


def start_shards(request: IngestRequest, plan: sharded.ShardPlan, deployment: str) -> dict[int, UUID]:
    """One flow run of ``deployment`` per shard that holds documents, created now (not awaited) and linked
    to the calling flow run as its sub-flow runs; the work pool's workers pick them up in parallel."""
    from prefect.deployments import run_deployment

    started: dict[int, UUID] = {}
    for index in plan.busy():
        label = ShardSpec(index=index, count=plan.count).label()
        run = run_deployment(
            deployment,
            parameters=sharded.shard_parameters(request, index, plan.count),
            flow_run_name=f"{request.knowledge_base}-shard-{label}",
            timeout=0,  # start every shard before waiting for any
            tags=["genai", "ingestion", "shard"],
        )
        assert isinstance(run, FlowRun), "a sync flow gets the run, not a coroutine"
        started[index] = run.id
    return started


def wait_for_runs(run_ids: list[UUID], timeout: float) -> dict[UUID, str]:
    """Each run's final state type (``COMPLETED``, ``CRASHED``, ...), or its current one (``RUNNING``,
    ``SCHEDULED``, ...) for those still going when ``timeout`` seconds have passed."""
    from prefect.client.orchestration import get_client

    states: dict[UUID, str] = {}
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        pending = list(run_ids)
        while pending:
            for run_id in list(pending):
                state = client.read_flow_run(run_id).state
                states[run_id] = state.type.value if state is not None else "PENDING"
                if state is not None and state.is_final():
                    pending.remove(run_id)
            if pending and time.monotonic() >= deadline:
                break
            if pending:
                time.sleep(POLL_SECONDS)
    return states


@task(name="collect-shards", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def collect(
    plan: sharded.ShardPlan, started: dict[int, UUID], states: dict[UUID, str], settings: Settings
) -> list[ShardOutcome]:
    """Each shard's outcome, with the summary its run wrote to the run log when it finished."""
    from genai.stores.runs import RunStore

    runs = RunStore(settings.sql_url)
    outcomes = []
    for index, run_id in sorted(started.items()):
        logged = runs.get_run(str(run_id))
        summary = logged.summary if logged is not None and logged.status == "completed" else None
        outcomes.append(
            ShardOutcome(
                index=index,
                label=ShardSpec(index=index, count=plan.count).label(),
                documents=plan.sizes[index],
                flow_run_id=str(run_id),
                state=states.get(run_id, "UNKNOWN"),
                summary=IngestSummary.model_validate(summary) if summary else None,
            )
        )
    return outcomes


@task(name="finish-shards", cache_policy=NO_CACHE, **STORE_TASK_OPTIONS)
def finish(request: IngestRequest, settings: Settings) -> sharded.FinalStep:
    """Delete documents gone from the whole source and run the consistency check."""
    with IngestStores.open(settings, parallel_writers=True) as stores:
        return sharded.finish(request, settings.ingest, stores)


@task(name="publish-sharded-summary", cache_policy=NO_CACHE)
def publish(summary: ShardedSummary) -> None:
    """The parent's report and its per-shard table, under stable keys per knowledge base."""
    create_markdown_artifact(
        summary.to_markdown(),
        key=artifact_key("ingest", summary.kb, "sharded-summary"),
        description=f"Sharded ingestion summary for knowledge base {summary.kb}",
    )
    create_table_artifact(
        summary.rows() or {"shard": [], "documents": [], "state": [], "flow_run_id": []},
        key=artifact_key("ingest", summary.kb, "shards"),
        description=f"Each shard run of the last sharded ingestion into {summary.kb}",
    )
