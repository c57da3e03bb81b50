"""One request/response exchange as the HTTP layer sees it, carried in the ASGI scope, and the one place
its usage record is built.

The middleware creates an ``Exchange`` when a request arrives and, once the last byte of the answer went
out (after a stream's ``[DONE]``, too), turns it into the request's ``UsageRecord`` (``usage_record``) for
the policy chain's sinks. Endpoints fill in what they learn on the way: the model, the ``RequestContext``
the router (or the in-process embedding model) fills in, time to first token. Recording in one place
means error answers produced by exception handlers are counted exactly like successes.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from gateway.context import RequestContext
from gateway.policies.usage import UsageRecord
from gateway.principal import Principal

SCOPE_KEY = "genai.exchange"


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
    principal: Principal | None = None  # set by the authentication policy (None: it never ran)
    client_request_id: str | None = None  # the caller's own id (X-Client-Request-Id), for tracing only
    status: int = 0
    error_type: str | None = None
    error_message: str | None = None
    ttft: float | None = None
    client_closed: bool = False  # the client went away before the end of the answer

    def fail(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.error_message = message


def exchange_of(scope: MutableMapping[str, Any]) -> Exchange:
    exchange: Exchange = scope[SCOPE_KEY]
    return exchange


def usage_record(exchange: Exchange) -> UsageRecord:
    """The finished exchange's usage record: the one place a request's usage is put together."""
    # 499 (nginx's "client closed request"): the answer started as a 200 but never reached its end.
    status = 499 if exchange.client_closed else exchange.status
    record = UsageRecord(
        request_id=exchange.request_id,
        client_request_id=exchange.client_request_id,
        method=exchange.method,
        path=exchange.path,
        status=status,
        latency_seconds=time.monotonic() - exchange.started,
        endpoint=exchange.endpoint,
        model=exchange.model,
        time_to_first_token=exchange.ttft,
        error_type=exchange.error_type,
        error_message=exchange.error_message,
    )
    principal = exchange.principal
    if principal is not None:
        record.tenant, record.key_prefix, record.subject = (
            principal.tenant,
            principal.key_prefix,
            principal.subject,
        )
    ctx = exchange.ctx
    if ctx is not None:  # the request reached a model: what served it, and what it used
        usage = ctx.usage or {}
        record.served = exchange.served
        record.served_model = ctx.served_model
        record.model_version = ctx.model_version
        if ctx.version is not None:
            record.price = ctx.version.spec.price
        record.upstream, record.worker, record.stream = ctx.upstream, ctx.worker, ctx.stream
        record.prompt_tokens = usage.get("prompt_tokens")
        record.completion_tokens = usage.get("completion_tokens")
        record.cached_tokens = usage.get("cached_tokens")
        record.attempts, record.fallbacks = ctx.attempts, ctx.fallbacks
        record.router_seconds = ctx.router_seconds
        if ctx.cache_level is not None:
            record.cache_level = ctx.cache_level
            record.cache_hit = ctx.cache_level != "miss"
        if ctx.saved_usage is not None:
            record.saved_prompt_tokens = ctx.saved_usage.get("prompt_tokens")
            record.saved_completion_tokens = ctx.saved_usage.get("completion_tokens")
        if ctx.guard_events:
            record.guard_events = tuple(ctx.guard_events)
        record.response_retries = ctx.response_retries
    return record
