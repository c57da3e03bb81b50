"""The batch serving flow's parameters: one definition per field, shared by the flow's signature (Prefect
turns it into the run form and the deployment's parameter schema) and by ``ServeRequest``, which checks
the combination once (a local file, or a stored file with its batch).

Optional fields have JSON-valued defaults (empty strings, 0), never ``null``: the Prefect UI renders
``X | None`` as a type choice and refuses a ``null`` default in a plain field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from genai.batch.format import BATCH_URLS

POOL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
DEFAULT_SLICE = 256


def shown(title: str, description: str, **schema: Any) -> Any:
    """Title and description as the UI shows them (Prefect keeps ``json_schema_extra``, applied last)."""
    return Field(json_schema_extra={"title": title, "description": description, **schema})


InputPath = Annotated[
    str,
    shown(
        "Input file",
        "A JSONL file of batch requests (OpenAI's batch input format) on the machine where the flow runs. "
        "Leave empty when serving a stored file (input file id and batch id).",
    ),
]
InputFileId = Annotated[
    str, shown("Input file id", "A file in the batch file store (/v1/files), served for batch id.")
]
BatchId = Annotated[
    str,
    shown("Batch id", "The /v1/batches record this run serves: its status, counts and output files."),
]
Endpoint = Annotated[
    str,
    shown("Endpoint", "The endpoint every line calls.", enum=list(BATCH_URLS)),
]
Pool = Annotated[
    str,
    Field(pattern=POOL_PATTERN),
    shown(
        "Worker pool",
        "The pool the requests land on: all batches on it share the Prefect concurrency limit "
        "batch-pool-<pool> (slots from batch.pool_slots, else batch.default_pool_slots).",
        pattern=POOL_PATTERN,
    ),
]
Concurrency = Annotated[
    int,
    Field(ge=0, le=1024),
    shown("Concurrency", "Requests in flight, at most the pool's slots. 0: batch.concurrency.", minimum=0),
]
SliceSize = Annotated[
    int,
    Field(ge=1, le=100_000),
    shown(
        "Slice size",
        "Requests per slice: each slice holds the pool's slots while it runs, and a cancellation is seen "
        "between slices.",
        minimum=1,
    ),
]
OutputDir = Annotated[
    str,
    shown(
        "Output folder",
        "Local mode: where results.jsonl and errors.jsonl are written. Empty: beside the input, in "
        "<input name>.results.jsonl and <input name>.errors.jsonl.",
    ),
]


class ServeRequest(BaseModel):
    """One run's parameters, checked together."""

    input_path: str = ""
    input_file_id: str = ""
    batch_id: str = ""
    endpoint: str = "/v1/chat/completions"
    pool: str = "default"
    concurrency: int = 0
    slice_size: int = DEFAULT_SLICE
    output_dir: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> ServeRequest:
        if self.endpoint not in BATCH_URLS:
            raise ValueError(f"endpoint is one of {', '.join(BATCH_URLS)}; got {self.endpoint!r}")
        if bool(self.input_path) == bool(self.input_file_id):
            raise ValueError("give either input_path (a local JSONL file) or input_file_id with batch_id")
        if self.input_file_id and not self.batch_id:
            raise ValueError("input_file_id needs the batch_id it is served for")
        return self

    @property
    def tracked(self) -> bool:
        """Served for a /v1/batches record: its status and counts are kept current, its output files go to
        the file store."""
        return bool(self.batch_id)
