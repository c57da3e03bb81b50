"""Settings of batch serving: the ``serve-batch`` flow (flows/serve_batch.py) and the gateway's OpenAI-style
``/v1/files`` and ``/v1/batches`` (docs/batch.md).

Uploaded request files, results and error files live in a file store: a folder under the platform home by
default, an S3-compatible bucket in production. The flow sends each request to the gateway (so the policy
chain, limits and the ledger apply to batch traffic too) with a bounded number in flight, and holds a
Prefect concurrency limit per worker pool so that batches never take all of a pool from online traffic.

Example (genai.yaml)::

    batch:
      storage: s3
      s3:
        bucket: genai-batch
        endpoint_url: http://minio.data.svc:9000
      concurrency: 16
      pool_slots: {gpu-a100: 32}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from genai.settings.section import SettingsSection

MIB = 1024**2


class S3StorageSettings(SettingsSection):
    """An S3-compatible bucket for batch files (AWS S3, MinIO, Ceph, ...). Credentials come from the usual
    AWS variables or the named ones, never from this file."""

    bucket: str = Field(description="The bucket that holds the files.")
    prefix: str = Field("genai/files/", description="Key prefix of every stored object.")
    endpoint_url: str | None = Field(None, description="The server, for anything but AWS itself.")
    region: str | None = None
    access_key_env: str = Field("AWS_ACCESS_KEY_ID", description="The variable holding the access key id.")
    secret_key_env: str = Field("AWS_SECRET_ACCESS_KEY", description="The variable holding the secret key.")


class BatchSettings(SettingsSection):
    """Where batch files are kept, how big they may be, and how hard a batch may push the workers."""

    storage: Literal["local", "s3"] = Field("local", description="local: a folder; s3: a bucket (`s3`).")
    folder: Path | None = Field(None, description="The local file store; default: `$GENAI_HOME/files`.")
    s3: S3StorageSettings | None = Field(None, description="Required when storage is s3.")
    max_file_bytes: int = Field(200 * MIB, ge=1, description="Largest uploaded file accepted (413 past it).")
    max_requests_per_batch: int = Field(50_000, ge=1, description="Most request lines in one batch.")
    concurrency: int = Field(8, ge=1, le=1024, description="Requests of one batch in flight at once.")
    pool_slots: dict[str, int] = Field(
        default_factory=dict,
        description="Prefect concurrency-limit slots per worker pool (route/pool name) that all running "
        "batches share; a pool not named gets `default_pool_slots`.",
    )
    default_pool_slots: int = Field(16, ge=1, description="Slots of a pool not named in pool_slots.")
    gateway_url: str | None = Field(
        None, description="The gateway the flow sends requests to; default: http://gateway.host:gateway.port."
    )
    deployment: str = Field(
        "serve_batch/serve-batch",
        description="The Prefect deployment that /v1/batches starts: flow name (flows/serve_batch.py's "
        "serve_batch) / deployment name.",
    )
    request_timeout_seconds: float = Field(600.0, gt=0, description="Longest wait for one request's answer.")
    completion_window: Literal["24h"] = Field("24h", description="The only window OpenAI's API accepts.")
