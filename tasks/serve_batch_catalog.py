"""The batch serving flow's tasks for a /v1/batches record: read its input from the file store, move its
status (validating -> in_progress -> finalizing -> completed, or cancelled, or failed), keep its request
counts current, publish the results and errors as files of the batch's tenant, and hold the key of the
batch's owner that its requests are sent with (genai.batch.credentials) for the run's length.

Thin wrappers over ``genai.batch.catalog`` (helper B's catalog: the one writer of batch records). The
output files have ids derived from the batch id, so a run started again after a crash replaces them
instead of leaving orphans beside new ones.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from prefect import task
from prefect.cache_policies import NO_CACHE

if TYPE_CHECKING:
    from genai.accesskeys import CreatedKey
    from genai.batch.records import BatchRecord
    from genai.batch.serve import BatchOutputs, PreparedBatch, Progress
    from genai.settings import Settings

MAX_RECORDED_ERRORS = 100  # a record lists this many refused lines; the errors file has all of them


class BatchNotServable(RuntimeError):
    """The batch does not exist, is done already, or does not read the file it was started with."""


@task(name="load-batch", cache_policy=NO_CACHE)
def load_batch(settings: Settings, batch_id: str, input_file_id: str) -> BatchRecord:
    from genai.batch import catalog

    record = catalog.get_batch(settings, batch_id)
    if record is None:
        raise BatchNotServable(f"no batch {batch_id!r} in the catalog")
    if record.done:
        raise BatchNotServable(f"batch {batch_id} is {record.status} already: nothing to serve")
    if input_file_id and input_file_id != record.input_file_id:
        raise BatchNotServable(f"batch {batch_id} reads {record.input_file_id}, not {input_file_id}")
    return record


@task(name="mint-batch-key", cache_policy=NO_CACHE, persist_result=False)
def mint_batch_key(settings: Settings, record: BatchRecord) -> CreatedKey | None:
    """A key of the batch's owner for this run (none where the gateway checks no API keys)."""
    from genai.batch import credentials

    return credentials.mint_batch_key(settings, record)


@task(name="retire-batch-key", cache_policy=NO_CACHE)
def retire_batch_key(settings: Settings, key: CreatedKey | None) -> None:
    from genai.batch import credentials

    credentials.retire_batch_key(settings, key)


@task(name="read-stored-input", cache_policy=NO_CACHE)
def read_stored_input(settings: Settings, file_id: str) -> bytes:
    from genai.batch import catalog

    return catalog.file_content(settings, file_id)


@task(name="start-batch", cache_policy=NO_CACHE)
def mark_in_progress(settings: Settings, batch_id: str, prepared: PreparedBatch, counts: Progress) -> None:
    """After the input suite: in_progress, the counts, and the refused lines as the record's errors."""
    from genai.batch import catalog
    from genai.batch.records import BatchErrorEntry, RequestCounts

    errors = [
        BatchErrorEntry(code="invalid_request", message=bad.reason, line=bad.number)
        for bad in prepared.bad[:MAX_RECORDED_ERRORS]
    ]
    catalog.update_batch(
        settings,
        batch_id,
        status="in_progress",
        request_counts=RequestCounts(total=counts.total, completed=counts.completed, failed=counts.failed),
        **({"errors": errors} if errors else {}),
    )


def record_progress(settings: Settings, batch_id: str, counts: Progress) -> None:
    """Between slices: the counts so far (plain call: it is one UPDATE, not worth a task run)."""
    from genai.batch import catalog
    from genai.batch.records import RequestCounts

    counts_now = RequestCounts(total=counts.total, completed=counts.completed, failed=counts.failed)
    catalog.update_batch(settings, batch_id, request_counts=counts_now)


def cancel_requested(settings: Settings, batch_id: str) -> bool:
    from genai.batch import catalog

    return catalog.cancel_requested(settings, batch_id)


def _replace_file(settings: Settings, record: BatchRecord, kind: str, data: bytes) -> str | None:
    """The batch's ``kind`` file (output or error) with ``data``; None (and no file) when empty."""
    from genai.batch import catalog

    file_id = f"file-{record.id}-{kind}"
    catalog.delete_file(settings, file_id)  # a run started again replaces what a crashed one left
    if not data:
        return None
    catalog.create_file(
        settings,
        data=data,
        filename=f"{record.id}_{kind}.jsonl",
        purpose="batch_output",
        tenant=record.tenant,
        file_id=file_id,
    )
    return file_id


@task(name="publish-batch-files", cache_policy=NO_CACHE)
def publish_files(settings: Settings, record: BatchRecord, outputs: BatchOutputs) -> BatchRecord:
    """finalizing -> the output and error files in the store -> completed (or cancelled), with the counts."""
    from genai.batch import catalog
    from genai.batch.records import RequestCounts

    summary = outputs.summary
    if not summary.cancelled:
        catalog.update_batch(settings, record.id, status="finalizing")
    output_file_id = _replace_file(settings, record, "output", outputs.results)
    error_file_id = _replace_file(settings, record, "error", outputs.errors)
    counts = RequestCounts(
        total=summary.total, completed=summary.completed, failed=summary.failed + summary.invalid
    )
    return catalog.update_batch(
        settings,
        record.id,
        status="cancelled" if summary.cancelled else "completed",
        output_file_id=output_file_id,
        error_file_id=error_file_id,
        request_counts=counts,
    )


@task(name="fail-batch", cache_policy=NO_CACHE)
def mark_failed(settings: Settings, batch_id: str, error: BaseException) -> None:
    """The run broke: the record says failed and why (a done batch is left as it is)."""
    from genai.batch import catalog
    from genai.batch.records import BatchErrorEntry

    entry = BatchErrorEntry(code="batch_failed", message=f"{type(error).__name__}: {error}"[:2000])
    with contextlib.suppress(catalog.BatchStatusError):  # done before the error: that outcome stands
        catalog.update_batch(settings, batch_id, status="failed", errors=[entry])
