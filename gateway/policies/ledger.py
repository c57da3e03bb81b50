"""The ``ledger`` policy: one usage row per API request, priced, written in batches off the event loop.

Every request to ``/v1/*`` gets its row, whatever its status (401, 404, 429 and 5xx included); probes
and ``/metrics`` do not. The record hook prices the record (``gateway.accounting.pricing.price_of``),
counts its cost in Prometheus and queues the row; a ``BatchWriter`` thread hands batches of
``accounting.batch_size`` every ``accounting.flush_seconds`` to a child process that writes them
(``gateway.accounting.writer_process``; ``accounting.writer: thread`` writes them in process), spools
them to ``accounting.spool_dir`` (default ``home/spool``) while the database is away and replays them
every ``accounting.replay_seconds``.
Rows are keyed by request id and inserted skipping ids already present, so none is written twice. The
app's shutdown awaits ``close``, which writes (or spools) what is still queued.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from gateway.accounting.pricing import price_of, saved_cost_of
from gateway.accounting.rows import Row, usage_row
from gateway.accounting.spool import Spool
from gateway.accounting.writer import BatchWriter
from gateway.accounting.writer_process import WriterProcess, write_usage_rows
from gateway.policies.base import Policy
from gateway.policies.usage import UsageRecord
from gateway.telemetry.metrics import COST_USD

if TYPE_CHECKING:
    from genai.settings import Settings
    from genai.settings.accounting import AccountingSettings

API_PREFIX = "/v1/"  # the requests the ledger and the audit log keep


def spool_root(settings: Settings) -> Path:
    return settings.accounting.spool_dir or settings.home / "spool"


class LedgerPolicy(Policy):
    """Feeds the ``usage_records`` table (and the cost series) from usage records."""

    name: ClassVar[str] = "ledger"

    def __init__(self, database_url: str, accounting: AccountingSettings, spool_dir: Path) -> None:
        self.database_url = database_url
        self.accounting = accounting
        self.enabled = accounting.ledger
        self.writer = BatchWriter(
            "ledger",
            self._write,
            Spool(spool_dir / "ledger"),
            batch_size=accounting.batch_size,
            flush_seconds=accounting.flush_seconds,
            replay_seconds=accounting.replay_seconds,
        )
        self._cost_children: dict[str, Any] = {}
        self.process = WriterProcess("ledger") if accounting.writer == "process" else None

    @classmethod
    def from_settings(cls, settings: Settings | None) -> LedgerPolicy:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        return cls(settings.sql_url, settings.accounting, spool_root(settings))

    def record(self, record: UsageRecord) -> None:
        if not self.enabled or not record.path.startswith(API_PREFIX):
            return
        cost, version = price_of(record, self.accounting)
        if cost and record.served and record.model:
            child = self._cost_children.get(record.model)
            if child is None:  # bounded: only model names the gateway serves
                child = self._cost_children[record.model] = COST_USD.labels(record.model)
            child.inc(cost)
        self.writer.put(usage_row(record, cost, version, saved_cost_of(record, self.accounting)))

    def _write(self, rows: list[Row], replayed: bool) -> None:
        if self.process is not None:
            self.process.run(write_usage_rows, self.database_url, rows, replayed)
        else:
            write_usage_rows(self.database_url, rows, replayed)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.writer.close)
        if self.process is not None:
            await anyio.to_thread.run_sync(self.process.close)
