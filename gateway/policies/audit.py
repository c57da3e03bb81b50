"""The ``audit`` policy: who did what, one hash-chained entry per API request, appended in batches.

Each ``/v1/*`` request gets an entry (actor: the key prefix or ``sub:<token subject>``, tenant, route,
model, decision, status, reason) through the record hook, queued for a ``BatchWriter`` thread; its child
process (``gateway.accounting.writer_process``) appends batches under the log's write lock
(``gateway.accounting.audit_log``); batches are spooled while the database is away and replayed later,
like the ledger's.

Prompts and answers are kept only for tenants with ``tenants[T].store_content``, encrypted with Fernet
(``accounting.content_key``; the gateway refuses to start when such a tenant exists and no key is set).
The request hooks capture them for those tenants only (``gateway.accounting.content``): the record hook
then takes them by request id and encrypts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from gateway.accounting.audit_log import audit_row
from gateway.accounting.content import KEY_HINT, ContentBuffer, ContentCipher, answer_text, delta_text
from gateway.accounting.rows import Row
from gateway.accounting.spool import Spool
from gateway.accounting.writer import BatchWriter
from gateway.accounting.writer_process import WriterProcess, write_audit_rows
from gateway.policies.base import Answer, Call, Policy
from gateway.policies.ledger import API_PREFIX, spool_root
from gateway.policies.usage import UsageRecord

if TYPE_CHECKING:
    from genai.settings import Settings


class AuditConfigError(ValueError):
    """The settings ask for something the audit log cannot do (content without a key)."""


def content_tenants(settings: Settings) -> frozenset[str]:
    return frozenset(name for name, tenant in settings.tenants.items() if tenant.store_content)


class AuditPolicy(Policy):
    """Feeds the ``audit_log`` table from usage records (and captured content)."""

    name: ClassVar[str] = "audit"

    def __init__(self, settings: Settings) -> None:
        accounting = settings.accounting
        self.database_url = settings.sql_url
        self.enabled = accounting.audit
        self.store_content = content_tenants(settings) if self.enabled else frozenset()
        self.cipher: ContentCipher | None = None
        if self.store_content:
            if accounting.content_key is None:
                raise AuditConfigError(
                    f"tenants {sorted(self.store_content)} set store_content, but accounting.content_key "
                    f"is not set: set it (GENAI_ACCOUNTING__CONTENT_KEY) to a Fernet key; {KEY_HINT}"
                )
            try:
                self.cipher = ContentCipher(accounting.content_key)
            except ValueError as error:
                raise AuditConfigError(str(error)) from None
        self.content = ContentBuffer()
        self.writer = BatchWriter(
            "audit",
            self._write,
            Spool(spool_root(settings) / "audit"),
            batch_size=accounting.batch_size,
            flush_seconds=accounting.flush_seconds,
            replay_seconds=accounting.replay_seconds,
        )
        self.process = WriterProcess("audit") if accounting.writer == "process" else None

    @classmethod
    def from_settings(cls, settings: Settings | None) -> AuditPolicy:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        return cls(settings)

    # -- capturing content (only for the tenants that ask) ---------------------------------------------

    def _keeps(self, call: Call) -> bool:
        principal = call.ctx.principal
        return principal is not None and principal.tenant in self.store_content

    async def before(self, call: Call) -> Answer | None:
        if self.store_content and self._keeps(call):
            self.content.prompt(call.request_id, call.body)
        return None

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        if self.store_content and self._keeps(call):
            self.content.prompt(call.request_id, call.body)  # an earlier policy may have answered first
            self.content.answer(call.request_id, answer_text(answer))
        return answer

    def applies(self, call: Call) -> bool:
        keeps = bool(self.store_content) and self._keeps(call)
        if keeps:
            self.content.prompt(call.request_id, call.body)
        return keeps

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        self.content.stream_text(call.request_id, delta_text(event))
        return event

    # -- the entry -------------------------------------------------------------------------------------

    def record(self, record: UsageRecord) -> None:
        if not self.enabled or not record.path.startswith(API_PREFIX):
            return
        token = None
        if self.store_content:
            captured = self.content.take(record.request_id)
            if captured is not None and self.cipher is not None and record.tenant in self.store_content:
                token = self.cipher.encrypt(captured)
        self.writer.put(audit_row(record, token))

    def _write(self, rows: list[Row], replayed: bool) -> None:
        if self.process is not None:
            self.process.run(write_audit_rows, self.database_url, rows, replayed)
        else:
            write_audit_rows(self.database_url, rows, replayed)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.writer.close)
        if self.process is not None:
            await anyio.to_thread.run_sync(self.process.close)
