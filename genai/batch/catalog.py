"""The batch catalog: files and batches in the platform's SQL database, shared by the gateway and the flow.

Plain functions over ``Settings`` (the database URL and the ``batch`` section): the gateway's /v1/files and
/v1/batches create, list and cancel; the ``serve-batch`` flow reads the input, moves the batch through its
statuses, writes the output and error files and the counts. A file's bytes go to the file store first,
then its row: a crash in between leaves unreachable bytes, never a row without its file.

Status moves are checked in one write transaction: a batch that reached a terminal status never moves
again (``BatchStatusError``), and a cancel wins over the flow's own progress: a flow that reports
``in_progress`` or ``finalizing`` after a cancel was asked leaves the status at ``cancelling`` (its other
fields are written), and sees ``cancel_requested`` when it next looks.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from genai.batch.records import (
    RUNNING_STATUSES,
    STATUS_TIMESTAMP,
    TERMINAL_STATUSES,
    BatchErrorEntry,
    BatchOwner,
    BatchRecord,
    BatchUpdate,
    FileRecord,
    FileStatus,
    Page,
    RequestCounts,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine, Select
    from sqlalchemy.orm import Session

    from genai.db import BatchFileRow, BatchRow
    from genai.settings import Settings

COMPLETION_WINDOWS = {"24h": timedelta(hours=24)}
MAX_PAGE = 100  # OpenAI's limit for a listing page


class BatchStatusError(ValueError):
    """A status move the batch cannot make (it is done already, or the move goes backwards)."""


def new_file_id() -> str:
    return f"file-{secrets.token_hex(12)}"


def new_batch_id() -> str:
    return f"batch_{secrets.token_hex(12)}"


def _engine(settings: Settings, write: bool = False) -> Engine:
    from genai.db import for_writing, get_engine

    engine = get_engine(settings.sql_url)
    return for_writing(engine) if write else engine


def _file(row: BatchFileRow) -> FileRecord:
    return FileRecord.model_validate(row, from_attributes=True)


def _batch(row: BatchRow) -> BatchRecord:
    return BatchRecord(
        id=row.id,
        tenant=row.tenant,
        input_file_id=row.input_file_id,
        endpoint=row.endpoint,
        completion_window=row.completion_window,
        status=row.status,  # written only from BatchStatus values; pydantic checks it again
        output_file_id=row.output_file_id,
        error_file_id=row.error_file_id,
        errors=[BatchErrorEntry.model_validate(e) for e in row.errors] if row.errors is not None else None,
        request_counts=RequestCounts(
            total=row.request_total, completed=row.request_completed, failed=row.request_failed
        ),
        metadata=row.batch_metadata,
        owner=BatchOwner.model_validate(row.owner) if row.owner is not None else None,
        flow_run_id=row.flow_run_id,
        **{name: getattr(row, name) for name in (*STATUS_TIMESTAMP.values(), "created_at", "expires_at")},
    )


# --- files ------------------------------------------------------------------------------------------------


def create_file(
    settings: Settings,
    *,
    data: bytes,
    filename: str,
    purpose: str,
    tenant: str,
    status: FileStatus = "processed",
    file_id: str | None = None,
) -> FileRecord:
    """Store ``data`` and record it as ``tenant``'s file; ``file_id`` defaults to a new ``file-<hex>``."""
    from sqlalchemy.orm import Session

    from genai.batch.filestore import open_file_store
    from genai.db import BatchFileRow

    file_id = file_id or new_file_id()
    open_file_store(settings).put(file_id, data)
    row = BatchFileRow(
        id=file_id,
        tenant=tenant,
        filename=filename,
        purpose=purpose,
        bytes=len(data),
        created_at=datetime.now(UTC),
        status=status,
    )
    record = _file(row)
    with Session(_engine(settings, write=True)) as session, session.begin():
        session.add(row)
    return record


def get_file(settings: Settings, file_id: str, tenant: str | None = None) -> FileRecord | None:
    """The file ``file_id`` (only if it is ``tenant``'s, when given); None if there is none."""
    from sqlalchemy.orm import Session

    from genai.db import BatchFileRow

    with Session(_engine(settings)) as session:
        row = session.get(BatchFileRow, file_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            return None
        return _file(row)


def file_content(settings: Settings, file_id: str) -> bytes:
    """The bytes of a file (``genai.batch.filestore.FileNotStored`` if the store lost them)."""
    from genai.batch.filestore import open_file_store

    return open_file_store(settings).get(file_id)


def list_files(
    settings: Settings,
    tenant: str,
    purpose: str | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[FileRecord]:
    """``tenant``'s files, newest first, ``limit`` a page, after the file ``after``."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from genai.db import BatchFileRow

    query = select(BatchFileRow).where(BatchFileRow.tenant == tenant)
    if purpose is not None:
        query = query.where(BatchFileRow.purpose == purpose)
    with Session(_engine(settings)) as session:
        rows, has_more = _page(session, query, BatchFileRow, limit, after)
        return Page[FileRecord](data=[_file(row) for row in rows], has_more=has_more)


def delete_file(settings: Settings, file_id: str, tenant: str | None = None) -> bool:
    """Forget the file and drop its bytes; False if there was none (or it is another tenant's)."""
    from sqlalchemy.orm import Session

    from genai.batch.filestore import open_file_store
    from genai.db import BatchFileRow

    with Session(_engine(settings, write=True)) as session, session.begin():
        row = session.get(BatchFileRow, file_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            return False
        session.delete(row)
    # The row goes first: a crash after it leaves bytes nobody can reach, never a listed file without them.
    open_file_store(settings).delete(file_id)
    return True


# --- batches ----------------------------------------------------------------------------------------------


def create_batch(
    settings: Settings,
    *,
    tenant: str,
    input_file_id: str,
    endpoint: str,
    completion_window: str = "24h",
    metadata: dict[str, Any] | None = None,
    request_total: int = 0,
    owner: BatchOwner | None = None,
) -> BatchRecord:
    """A new batch of ``tenant`` over ``input_file_id``, in status ``validating``."""
    from sqlalchemy.orm import Session

    from genai.db import BatchRow

    if completion_window not in COMPLETION_WINDOWS:
        raise ValueError(f"completion_window must be one of {sorted(COMPLETION_WINDOWS)}")
    now = datetime.now(UTC)
    row = BatchRow(
        id=new_batch_id(),
        tenant=tenant,
        input_file_id=input_file_id,
        endpoint=endpoint,
        completion_window=completion_window,
        status="validating",
        errors=None,
        request_total=request_total,
        request_completed=0,
        request_failed=0,
        batch_metadata=metadata,
        owner=owner.model_dump() if owner is not None else None,
        created_at=now,
        expires_at=now + COMPLETION_WINDOWS[completion_window],
    )
    with Session(_engine(settings, write=True)) as session, session.begin():
        session.add(row)
        session.flush()
        return _batch(row)


def get_batch(settings: Settings, batch_id: str, tenant: str | None = None) -> BatchRecord | None:
    """The batch ``batch_id`` (only if it is ``tenant``'s, when given); None if there is none."""
    from sqlalchemy.orm import Session

    from genai.db import BatchRow

    with Session(_engine(settings)) as session:
        row = session.get(BatchRow, batch_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            return None
        return _batch(row)


def list_batches(
    settings: Settings, tenant: str, limit: int = 20, after: str | None = None
) -> Page[BatchRecord]:
    """``tenant``'s batches, newest first, ``limit`` a page, after the batch ``after``."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from genai.db import BatchRow

    query = select(BatchRow).where(BatchRow.tenant == tenant)
    with Session(_engine(settings)) as session:
        rows, has_more = _page(session, query, BatchRow, limit, after)
        return Page[BatchRecord](data=[_batch(row) for row in rows], has_more=has_more)


def update_batch(settings: Settings, batch_id: str, **fields: Any) -> BatchRecord:
    """Write ``fields`` (those of ``BatchUpdate``) to the batch; a status change sets its ``*_at``.

    ``KeyError`` when there is no such batch; ``BatchStatusError`` for a move out of a terminal status.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from genai.db import BatchRow

    update = BatchUpdate.model_validate(fields)
    given = update.model_fields_set
    with Session(_engine(settings, write=True)) as session, session.begin():
        row = session.scalars(select(BatchRow).where(BatchRow.id == batch_id).with_for_update()).one_or_none()
        if row is None:
            raise KeyError(batch_id)
        if update.status is not None and update.status != row.status:
            _move(row, update.status)
        for name in ("output_file_id", "error_file_id", "flow_run_id"):
            if name in given:
                setattr(row, name, getattr(update, name))
        if "errors" in given:
            row.errors = [e.model_dump() for e in update.errors] if update.errors is not None else None
        if "metadata" in given:
            row.batch_metadata = update.metadata
        if update.request_counts is not None:
            counts = update.request_counts
            row.request_total, row.request_completed, row.request_failed = (
                counts.total,
                counts.completed,
                counts.failed,
            )
        return _batch(row)


def _move(row: BatchRow, status: str) -> None:
    """Move ``row`` to ``status``, stamping the time; a cancel asked meanwhile outranks a running status."""
    if row.status in TERMINAL_STATUSES:
        raise BatchStatusError(f"batch {row.id} is {row.status} already; it cannot become {status}")
    if row.status == "cancelling" and status in RUNNING_STATUSES:
        return  # the flow reported progress it made before it saw the cancel
    if status == "validating":
        raise BatchStatusError(f"batch {row.id} is {row.status}; it cannot go back to validating")
    row.status = status
    stamp = STATUS_TIMESTAMP.get(status)
    if stamp is not None:
        setattr(row, stamp, datetime.now(UTC))


def cancel_requested(settings: Settings, batch_id: str) -> bool:
    """Whether someone asked to cancel the batch (it is ``cancelling`` or ``cancelled``): the flow asks
    between slices."""
    batch = get_batch(settings, batch_id)
    return batch is not None and batch.status in ("cancelling", "cancelled")


# --- listing pages ----------------------------------------------------------------------------------------


def _page(
    session: Session, query: Select[Any], model: Any, limit: int, after: str | None
) -> tuple[list[Any], bool]:
    """One page of ``query`` (rows of ``model``) newest first by (created_at, id), after the id ``after``
    (an ``after`` that names no row of ``query`` gives an empty page)."""
    from sqlalchemy import and_, or_

    limit = max(1, min(limit, MAX_PAGE))
    if after is not None:
        cursor = session.scalars(query.where(model.id == after)).one_or_none()
        if cursor is None:
            # Not an item of this listing (never was, another tenant's, or deleted since): nothing follows
            # it. A page, not an error: a cursor is opaque to the client, which cannot tell it went stale.
            return [], False
        query = query.where(
            or_(
                model.created_at < cursor.created_at,
                and_(model.created_at == cursor.created_at, model.id < cursor.id),
            )
        )
    rows = list(session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
