"""Settings of usage accounting: the ledger (one row per request), the price table, and the audit log.

The ledger and the audit log are written in batches off the request path; while the database cannot be
reached, batches are spooled to local disk (``spool_dir``) and replayed once it is back.

Example (genai.yaml)::

    accounting:
      price_table_version: "2026-12"
      prices:
        gpt-4o-mini: {input_per_1m: 0.15, output_per_1m: 0.60}
        tiny-chat: {per_gpu_second: 0.0004}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from genai.settings.section import SettingsSection


class ModelPrice(SettingsSection):
    """What a model costs: per 1M tokens (vendors), or per GPU-second shared out by tokens (self-hosted)."""

    input_per_1m: float = Field(0.0, ge=0)
    output_per_1m: float = Field(0.0, ge=0)
    per_gpu_second: float | None = Field(None, ge=0)


class AccountingSettings(SettingsSection):
    """The usage ledger and the audit log."""

    ledger: bool = Field(True, description="Write one usage record per request to the SQL database.")
    audit: bool = Field(True, description="Write the hash-chained audit log.")
    batch_size: int = Field(200, ge=1, le=10_000, description="Rows per database write.")
    flush_seconds: float = Field(1.0, gt=0, description="Longest a finished request waits to be written.")
    spool_dir: Path | None = Field(None, description="Default: home/spool.")
    replay_seconds: float = Field(5.0, gt=0, description="How often spooled batches are retried.")
    writer: Literal["process", "thread"] = Field(
        "process",
        description="process: batches are written by a child process at a lower priority, so their Python "
        "work never holds the event loop's GIL (the p99 under load); thread: by a thread of the gateway "
        "process, where child processes cannot be started.",
    )
    price_table_version: str = "builtin"
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="Client-facing model name -> price (registry versions carry theirs).",
    )
    content_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts stored prompts and answers (tenants[].store_content)."
    )
