"""The ``access_log`` policy: one JSON line per finished request (``gateway.access``), written from
the request's ``UsageRecord``.

Probes and the metrics endpoint are polled every few seconds: their successful requests get no line, or
they would drown the real traffic.
"""

from __future__ import annotations

from typing import ClassVar

from gateway.policies.base import Policy
from gateway.policies.usage import UsageRecord
from gateway.telemetry.logging import log_exchange

_QUIET_PATHS = frozenset({"/healthz", "/health", "/readyz", "/metrics"})


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class AccessLogPolicy(Policy):
    """Writes the access line of every request except successful probes."""

    name: ClassVar[str] = "access_log"

    def record(self, record: UsageRecord) -> None:
        if record.path in _QUIET_PATHS and record.status < 400:
            return
        log_exchange(
            request_id=record.request_id,
            client_request_id=record.client_request_id,
            method=record.method,
            path=record.path,
            endpoint=record.endpoint,
            model=record.model,
            model_version=record.model_version,
            status=record.status,
            latency_ms=_ms(record.latency_seconds),
            ttft_ms=_ms(record.time_to_first_token),
            stream=record.stream,
            upstream=record.upstream,
            worker=record.worker,
            served_model=record.served_model,
            attempts=record.attempts if record.upstream is not None else None,
            fallbacks=record.fallbacks if record.upstream is not None else None,
            tokens=record.tokens(),
            error_type=record.error_type,
            error=record.error_message,
        )
