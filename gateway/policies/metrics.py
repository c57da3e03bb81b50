"""The ``metrics`` policy: each finished request counted in the gateway's Prometheus series.

Requests, latency, errors, tokens (prompt / completion / cached), time to first token, cache lookups
and the tokens hits saved, and guard events (screening, output filtering), all from the
request's ``UsageRecord``. Only model names the gateway serves become labels (an unknown name is counted
under ``model=""``), so clients cannot grow the series without bound. Attempt-level series (retries,
fallbacks, a failed attempt's error) stay with the router, which sees every attempt.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.policies.base import Policy
from gateway.policies.usage import UsageRecord
from gateway.telemetry.metrics import (
    CACHE_LOOKUPS,
    CACHE_SAVED_TOKENS,
    ERRORS,
    GUARD_EVENTS,
    LATENCY,
    REQUESTS,
    TIME_TO_FIRST_TOKEN,
    TOKENS,
)

# Endpoints whose requests carry a model: they get the per-model series.
_MODEL_ENDPOINTS = frozenset({"chat", "completions", "embeddings"})


class MetricsPolicy(Policy):
    """Feeds REQUESTS, LATENCY, ERRORS, TOKENS and TIME_TO_FIRST_TOKEN from usage records."""

    name: ClassVar[str] = "metrics"

    def __init__(self) -> None:
        # A label lookup costs a lock and a dict probe in prometheus_client: each series child is resolved
        # once. The keys are bounded: served model names, endpoints, statuses and token kinds.
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def record(self, record: UsageRecord) -> None:
        endpoint = record.endpoint
        if endpoint not in _MODEL_ENDPOINTS:
            return
        model = record.model if record.served and record.model else ""
        self._child(REQUESTS, model, endpoint, str(record.status)).inc()
        self._child(LATENCY, model, endpoint).observe(record.latency_seconds)
        if record.prompt_tokens is not None:
            self._child(TOKENS, model, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens is not None and endpoint != "embeddings":
            self._child(TOKENS, model, "completion").inc(record.completion_tokens)
        if record.cached_tokens:
            self._child(TOKENS, model, "cached").inc(record.cached_tokens)
        if record.time_to_first_token is not None:
            self._child(TIME_TO_FIRST_TOKEN, model).observe(record.time_to_first_token)
        if record.cache_level is not None:
            self._child(CACHE_LOOKUPS, model, endpoint, record.cache_level).inc()
            saved = (record.saved_prompt_tokens or 0) + (record.saved_completion_tokens or 0)
            if saved:
                self._child(CACHE_SAVED_TOKENS, model).inc(saved)
        for event in record.guard_events:  # bounded labels: the policies' own names, never client text
            self._child(GUARD_EVENTS, event.stage, event.check, event.kind, event.action).inc(event.count)
        if record.failed:
            status = record.status
            error_type = record.error_type or ("client_closed" if status == 499 else f"http_{status}")
            # Bounded too: error types are the gateway's own codes, never text from a client.
            ERRORS.labels(model, record.worker or "", error_type).inc()
