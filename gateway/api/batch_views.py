"""The catalog's records as OpenAI's wire objects: files, batches and their pages (Unix-second times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.protocol.batches import BatchErrorData, BatchErrors, BatchObject, BatchRequestCounts
from gateway.protocol.files import FileObject
from genai.batch.records import BatchRecord, FileRecord, Page

_BATCH_TIMES = (
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def _seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def file_object(record: FileRecord) -> dict[str, Any]:
    return FileObject(
        id=record.id,
        bytes=record.bytes,
        created_at=int(record.created_at.timestamp()),
        filename=record.filename,
        purpose=record.purpose,
        status=record.status,
    ).model_dump()


def batch_object(record: BatchRecord) -> dict[str, Any]:
    errors = None
    if record.errors:
        errors = BatchErrors(data=[BatchErrorData(**error.model_dump()) for error in record.errors])
    counts = record.request_counts
    return BatchObject(
        id=record.id,
        endpoint=record.endpoint,
        errors=errors,
        input_file_id=record.input_file_id,
        completion_window=record.completion_window,
        status=record.status,
        output_file_id=record.output_file_id,
        error_file_id=record.error_file_id,
        created_at=int(record.created_at.timestamp()),
        request_counts=BatchRequestCounts(
            total=counts.total, completed=counts.completed, failed=counts.failed
        ),
        metadata={str(key): str(value) for key, value in record.metadata.items()}
        if record.metadata
        else None,
        **{name: _seconds(getattr(record, name)) for name in _BATCH_TIMES},
    ).model_dump()


def page_object(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAI's list object: the items, whether more follow, and the cursors."""
    return {
        "object": "list",
        "data": items,
        "has_more": page.has_more,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
    }
