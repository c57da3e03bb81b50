"""Batch serving: a JSONL file of OpenAI batch requests served through the gateway, resumably.

read the input -> the input suite (bad lines go to the errors file with their line numbers, the rest is
served) -> the pool's Prefect concurrency limit (``batch-pool-<pool>``, created if missing) -> the
requests the journal does not hold yet, slice by slice, each slice holding as many of the pool's slots as
it has requests in flight -> the output suite -> results and errors files (OpenAI's batch output format)
-> the summary artifact (``serve-batch-<batch id or journal key>``).

A run killed midway and started again with the same input (or batch id) resumes from its journal: no
finished request is sent twice, none is lost. With a ``batch_id`` (the gateway's /v1/batches starts it so)
the input comes from the file store, the batch record's status and counts move along, the output and
error files go to the store, and a cancel asked through the API stops the run between slices (status
cancelled, the answers so far published). Run it from the Prefect UI (deployment ``serve-batch``),
the Prefect REST API, or by calling ``serve_batch(input_path=...)``; docs/batch.md.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar, cast

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from genai.batch.request import (
    DEFAULT_SLICE,
    BatchId,
    Concurrency,
    Endpoint,
    InputFileId,
    InputPath,
    OutputDir,
    Pool,
    ServeRequest,
    SliceSize,
)
from genai.batch.summary import BatchSummary
from genai.settings import Settings, get_settings
from tasks import serve_batch as steps
from tasks import serve_batch_catalog as records

if TYPE_CHECKING:
    from genai.batch.runner import SliceOutcome
    from genai.batch.serve import BatchOutputs, PreparedBatch, Progress

T = TypeVar("T")


def unwalked(value: T) -> T:
    """``value`` wrapped in Prefect's ``quote``: the task gets it as is, and Prefect does not walk every
    request and answer in it looking for futures. Typed as the value, which is what the task receives."""
    return cast(T, quote(value))


@flow(name="serve_batch", log_prints=True)  # flows/NAME.py:NAME, as every flow
def serve_batch(
    input_path: InputPath = "",
    input_file_id: InputFileId = "",
    batch_id: BatchId = "",
    endpoint: Endpoint = "/v1/chat/completions",
    pool: Pool = "default",
    concurrency: Concurrency = 0,
    slice_size: SliceSize = DEFAULT_SLICE,
    output_dir: OutputDir = "",
) -> BatchSummary:
    """Serve the batch in ``input_path``; returns the run's summary."""
    started = time.perf_counter()
    request = ServeRequest(
        input_path=input_path,
        input_file_id=input_file_id,
        batch_id=batch_id,
        endpoint=endpoint,
        pool=pool,
        concurrency=concurrency,
        slice_size=slice_size,
        output_dir=output_dir,
    )
    settings = get_settings()
    if request.tracked:
        return _serve_tracked(request, settings, started)
    data = steps.read_local_input(request.input_path)
    outputs = serve_input(request, data, settings, started)
    results, errors = steps.write_local_outputs(unwalked(outputs), request.input_path, request.output_dir)
    steps.publish_summary(outputs.summary)
    get_run_logger().info("serve-batch: results in %s, errors in %s", results, errors)
    return outputs.summary


class BatchTracker:
    """A /v1/batches record kept current while its input is served: in_progress after the input check,
    the counts after each slice, a cancellation looked for before each."""

    def __init__(self, settings: Settings, batch_id: str) -> None:
        self.settings = settings
        self.batch_id = batch_id

    def started(self, prepared: PreparedBatch, counts: Progress) -> None:
        records.mark_in_progress(self.settings, self.batch_id, unwalked(prepared), counts)

    def stop_requested(self) -> bool:
        return records.cancel_requested(self.settings, self.batch_id)

    def progressed(self, counts: Progress) -> None:
        records.record_progress(self.settings, self.batch_id, counts)


def _serve_tracked(request: ServeRequest, settings: Settings, started: float) -> BatchSummary:
    """Serve a batch record's stored input; its files go to the file store, its status moves along."""
    record = records.load_batch(settings, request.batch_id, request.input_file_id)
    # The batch's requests go out as its owner's (tenant, tier, models), not as the platform's.
    key = None
    try:
        key = records.mint_batch_key(settings, record)
        data = records.read_stored_input(settings, record.input_file_id)
        tracked = request.model_copy(update={"endpoint": record.endpoint})  # the record's word is final
        tracker = BatchTracker(settings, record.id)
        api_key = key.key if key is not None else None
        outputs = serve_input(tracked, data, settings, started, tracker, api_key=api_key)
        done = records.publish_files(settings, record, unwalked(outputs))
    except BaseException as error:
        records.mark_failed(settings, record.id, error)
        raise
    finally:
        records.retire_batch_key(settings, key)
    steps.publish_summary(outputs.summary)
    get_run_logger().info("serve-batch: batch %s %s", done.id, done.status)
    return outputs.summary


def serve_input(
    request: ServeRequest,
    data: bytes,
    settings: Settings,
    started: float,
    tracker: BatchTracker | None = None,
    api_key: str | None = None,
) -> BatchOutputs:
    """Check, serve slice by slice (with a tracker: stopping when a cancel is asked), collect; with the
    platform's client key unless ``api_key`` is given (a batch owner's)."""
    from genai.batch.serve import journal_path, pending, progress, runner_options, slices
    from tasks.evaluate import client_key

    prepared = steps.check_batch_input(unwalked(data), request.endpoint, request.batch_id or None)
    journal_file = journal_path(settings.home, prepared.key)
    slots = steps.ensure_pool_limit(request.pool, steps.pool_slots(settings.batch, request.pool))
    options = runner_options(
        settings.batch,
        settings.gateway,
        settings.cache,
        concurrency=min(request.concurrency or settings.batch.concurrency, slots),
        api_key=api_key or client_key(settings),
        request_id_prefix=request.batch_id or "batch",
    )
    counts = progress(prepared, journal_file)
    if tracker is not None:
        tracker.started(prepared, counts)
    outcomes: list[SliceOutcome] = []
    stopped = False
    for part in slices(pending(prepared, journal_file), request.slice_size):
        if tracker is not None and tracker.stop_requested():
            stopped = True
            break
        outcomes.append(steps.serve_slice(unwalked(part), journal_file, options, request.pool))
        counts.add(outcomes[-1])
        if tracker is not None:
            tracker.progressed(counts)
    outputs = steps.collect_outputs(unwalked(prepared), journal_file, unwalked(outcomes), stopped)
    outputs.summary.seconds = round(time.perf_counter() - started, 3)
    return outputs
