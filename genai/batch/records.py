"""The catalog's records: what the flow and the gateway read and write about files and batches.

Pydantic models, so the boundary between the catalog (``genai.batch.catalog``) and its callers is typed;
the gateway turns them into OpenAI's wire objects (``gateway.protocol.batches``), the flow reads and
updates them. The batch statuses and the moves between them are OpenAI's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]
FileStatus = Literal["uploaded", "processed", "error"]
T = TypeVar("T")

# A batch in one of these is done: nothing moves it any more.
TERMINAL_STATUSES: frozenset[str] = frozenset({"failed", "completed", "expired", "cancelled"})
# The statuses of a batch still being served (the flow's own moves among them).
RUNNING_STATUSES: frozenset[str] = frozenset({"validating", "in_progress", "finalizing"})
# Each status has its timestamp, set when the batch reaches it (validating's is created_at).
STATUS_TIMESTAMP: dict[str, str] = {
    "in_progress": "in_progress_at",
    "finalizing": "finalizing_at",
    "completed": "completed_at",
    "failed": "failed_at",
    "expired": "expired_at",
    "cancelling": "cancelling_at",
    "cancelled": "cancelled_at",
}


class FileRecord(BaseModel):
    """A stored file (its bytes are in the file store under ``id``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    filename: str
    purpose: str
    bytes: int
    created_at: datetime
    status: FileStatus = "processed"


class RequestCounts(BaseModel):
    """How many requests a batch has, and how many finished each way."""

    model_config = ConfigDict(frozen=True)

    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchErrorEntry(BaseModel):
    """One reason a batch failed (OpenAI's ``errors.data`` item); ``line`` is the input line, if any."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    param: str | None = None
    line: int | None = None


class BatchOwner(BaseModel):
    """Who created a batch, as the gateway saw the caller: the flow serves the batch with a key of the same
    tenant, tier and models, so the batch's requests are limited, budgeted and charged as the owner's."""

    model_config = ConfigDict(frozen=True)

    tier: str = "default"
    actor: str = Field("anonymous", description="The key's display prefix or the token's subject.")
    models: list[str] | None = Field(None, description="Models the owner's credential may use; None: any.")


class BatchRecord(BaseModel):
    """A batch and where it stands."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    input_file_id: str
    endpoint: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[BatchErrorEntry] | None = None
    request_counts: RequestCounts = Field(default_factory=RequestCounts)
    metadata: dict[str, Any] | None = None
    owner: BatchOwner | None = None
    flow_run_id: str | None = None
    created_at: datetime
    in_progress_at: datetime | None = None
    finalizing_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    expired_at: datetime | None = None
    cancelling_at: datetime | None = None
    cancelled_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES


class BatchUpdate(BaseModel):
    """The fields ``update_batch`` may change; one it does not know is refused, never dropped."""

    model_config = ConfigDict(extra="forbid")

    status: BatchStatus | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[BatchErrorEntry] | None = None
    request_counts: RequestCounts | None = None
    metadata: dict[str, Any] | None = None
    flow_run_id: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a listing, newest first; ``has_more``: a next page exists (ask with ``after`` the last
    id)."""

    model_config = ConfigDict(frozen=True)

    data: list[T]
    has_more: bool
