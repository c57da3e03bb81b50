"""One request/response exchange as the telemetry sees it, carried in the ASGI scope.

The middleware creates an ``Exchange`` when a request arrives and records it once the last byte of the
answer went out (after a stream's ``[DONE]``, too); endpoints fill in what they learn on the way: the model,
the router's ``RequestContext``, time to first token, embedding tokens. Recording in one place means error
answers produced by exception handlers are counted exactly like successes.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from gateway.context import RequestContext
from gateway.telemetry import metrics
from gateway.telemetry.logging import log_exchange

SCOPE_KEY = "genai.exchange"
# Endpoints whose requests carry a model: they get the per-model series.
_MODEL_ENDPOINTS = frozenset({"chat", "completions", "embeddings"})
# Probes are polled every few seconds: a log line each would drown the real traffic.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(slots=True)
class Exchange:
    request_id: str
    method: str
    path: str
    started: float
    endpoint: str | None = None
    model: str | None = None  # as the client sent it (logs only)
    served: bool = False  # whether the gateway serves ``model``: only such names become metric labels
    ctx: RequestContext | None = None
    status: int = 0
    error_type: str | None = None
    error_message: str | None = None
    ttft: float | None = None
    client_closed: bool = False  # the client went away before the end of the answer
    usage: dict[str, int] | None = None  # embeddings fill this; completions read ctx.usage

    def fail(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.error_message = message


def exchange_of(scope: MutableMapping[str, Any]) -> Exchange:
    exchange: Exchange = scope[SCOPE_KEY]
    return exchange


def record(exchange: Exchange) -> None:
    """Count the finished exchange in the Prometheus series and write its log line."""
    latency = time.monotonic() - exchange.started
    # 499 (nginx's "client closed request"): the answer started as a 200 but never reached its end.
    status = 499 if exchange.client_closed else exchange.status
    ctx = exchange.ctx
    usage = ctx.usage if ctx is not None and ctx.usage is not None else exchange.usage
    if exchange.endpoint in _MODEL_ENDPOINTS:
        model = exchange.model if exchange.served and exchange.model else ""
        metrics.REQUESTS.labels(model, exchange.endpoint, str(status)).inc()
        metrics.LATENCY.labels(model, exchange.endpoint).observe(latency)
        # Completions' tokens and time to first token are metered by the router (it sees every upstream
        # answer, also those the client never waits for); only embeddings, served here, are metered here.
        if exchange.usage and exchange.endpoint == "embeddings":
            metrics.TOKENS.labels(model, "prompt").inc(exchange.usage.get("prompt_tokens", 0))
        if status >= 400 or exchange.error_type:
            worker = (ctx.worker if ctx is not None else None) or ""
            error_type = exchange.error_type or ("client_closed" if status == 499 else f"http_{status}")
            metrics.ERRORS.labels(model, worker, error_type).inc()
    if exchange.path in _QUIET_PATHS and status < 400:
        return
    log_exchange(
        request_id=exchange.request_id,
        method=exchange.method,
        path=exchange.path,
        endpoint=exchange.endpoint,
        model=exchange.model,
        status=status,
        latency_ms=round(latency * 1000, 3),
        ttft_ms=round(exchange.ttft * 1000, 3) if exchange.ttft is not None else None,
        stream=ctx.stream if ctx is not None else None,
        upstream=ctx.upstream if ctx is not None else None,
        worker=ctx.worker if ctx is not None else None,
        attempts=ctx.attempts if ctx is not None else None,
        fallbacks=ctx.fallbacks if ctx is not None else None,
        tokens=usage,
        error_type=exchange.error_type,
        error=exchange.error_message,
    )
