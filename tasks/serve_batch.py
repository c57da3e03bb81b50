"""The batch serving flow's tasks: read and check the input, hold the pool's concurrency limit, serve one
slice, write the output files, publish the summary artifact.

Each task is a thin wrapper over ``genai.batch.serve`` (plain functions) and never caches: a slice must be
sent (or skipped through the journal) every time. A slice is one task, never one task per request. The
flow passes the big values (requests, answers) wrapped in Prefect's ``quote``: Prefect would otherwise walk
every request and answer of every call looking for futures (~2 ms per slice of 256, measured).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.reporting import artifact_key

if TYPE_CHECKING:
    from genai.batch.format import BatchRequestLine
    from genai.batch.runner import RunnerOptions, SliceOutcome
    from genai.batch.serve import BatchOutputs, PreparedBatch
    from genai.batch.summary import BatchSummary
    from genai.settings.batch import BatchSettings

# A slice's slots are leased: a run killed while it holds them gives them back when the lease runs out
# (the live run renews it), so a crash never takes a pool's slots for good.
LEASE_SECONDS = 60.0


def pool_limit_name(pool: str) -> str:
    return f"batch-pool-{pool}"


def pool_slots(batch: BatchSettings, pool: str) -> int:
    return batch.pool_slots.get(pool, batch.default_pool_slots)


@task(name="read-batch-input", cache_policy=NO_CACHE)
def read_local_input(path: str) -> bytes:
    return Path(path).expanduser().read_bytes()


@task(name="check-batch-input", cache_policy=NO_CACHE)
def check_batch_input(data: bytes, endpoint: str, batch_id: str | None) -> PreparedBatch:
    """The input suite over every line: the good ones to serve, the bad ones as error lines."""
    from genai.batch.serve import prepare

    prepared = prepare(data, endpoint, batch_id)
    logger = get_run_logger()
    for bad in prepared.bad[:20]:
        logger.warning("line %d refused: %s", bad.number, bad.reason)
    return prepared


@task(name="ensure-pool-limit", cache_policy=NO_CACHE)
def ensure_pool_limit(pool: str, slots: int) -> int:
    """The pool's global concurrency limit, created (active, with ``slots``) if missing; returns the slots
    it really has (an operator may have changed them in the UI since: theirs win)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = pool_limit_name(pool)
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another batch created it at that moment
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=slots, active=True)
                )
            limit = client.read_global_concurrency_limit_by_name(name)
    if limit.limit != slots:
        get_run_logger().info("%s has %d slots (batch settings say %d): kept", name, limit.limit, slots)
    return int(limit.limit)


@task(name="serve-slice", cache_policy=NO_CACHE)
def serve_slice(
    requests: list[BatchRequestLine], journal_file: Path, options: RunnerOptions, pool: str
) -> SliceOutcome:
    """Send one slice holding ``options.concurrency`` of the pool's slots: all batches on a pool together
    never have more requests in flight than its slots."""
    from prefect.concurrency.sync import concurrency

    from genai.batch import serve

    asked = time.perf_counter()
    with concurrency(pool_limit_name(pool), occupy=options.concurrency, lease_duration=LEASE_SECONDS):
        waited = time.perf_counter() - asked
        outcome = serve.serve_slice(requests, journal_file, options)
    outcome.waited_seconds = round(waited, 3)
    return outcome


@task(name="collect-batch-outputs", cache_policy=NO_CACHE)
def collect_outputs(
    prepared: PreparedBatch,
    journal_file: Path,
    this_run: list[SliceOutcome],
    cancelled: bool,
) -> BatchOutputs:
    """The results and errors files from the journal, checked by the output suite."""
    from genai.batch.serve import collect

    lines = [line for outcome in this_run for line in outcome.lines]
    seconds = sum(outcome.seconds for outcome in this_run)
    outputs = collect(prepared, journal_file, lines, len(lines), seconds, cancelled)
    outputs.summary.waiting_seconds = round(sum(outcome.waited_seconds for outcome in this_run), 3)
    return outputs


@task(name="write-batch-outputs", cache_policy=NO_CACHE)
def write_local_outputs(outputs: BatchOutputs, input_path: str, output_dir: str) -> tuple[str, str]:
    """Local mode: results and errors files, written whole (temporary file, then renamed)."""
    source = Path(input_path).expanduser()
    if output_dir:
        folder = Path(output_dir).expanduser()
        results, errors = folder / "results.jsonl", folder / "errors.jsonl"
    else:
        folder = source.parent
        results = folder / f"{source.stem}.results.jsonl"
        errors = folder / f"{source.stem}.errors.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in ((results, outputs.results), (errors, outputs.errors)):
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(data)
        partial.replace(path)
    return str(results), str(errors)


def summary_key(summary: BatchSummary) -> str:
    return artifact_key("serve-batch", summary.batch_id or summary.journal_key)


@task(name="publish-batch-summary", cache_policy=NO_CACHE)
def publish_summary(summary: BatchSummary) -> None:
    create_markdown_artifact(
        summary.to_markdown(),
        key=summary_key(summary),
        description=f"Batch serving summary of {summary.batch_id or summary.journal_key}",
    )
