"""Why an upstream attempt failed: ``UpstreamError`` and its reasons, and the classification of a non-2xx
answer (``status_error``) or a transport failure (``transport_error``) into one of them.

The router decides from ``reason`` whether a retry, a fallback or neither makes sense.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from gateway.upstreams.retry_after import parse_retry_after

# Why an attempt failed. The first group may be retried on the same upstream; "rejected" means this
# upstream refuses the request (bad key, unknown model) so only the next upstream may help; "bad_request"
# is the client's fault and ends the request; "deadline" means the request's own time ran out.
RETRYABLE = frozenset(
    {"connect", "timeout", "disconnect", "rate_limited", "status_5xx", "malformed", "stream_error"}
)
WORKER_FAULTS = frozenset({"connect", "timeout", "disconnect", "status_5xx", "malformed", "stream_error"})


class UpstreamError(Exception):
    """One failed upstream attempt."""

    def __init__(
        self, message: str, *, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE

    @property
    def worker_fault(self) -> bool:
        """Whether the failure says something about the worker's health (it counts for its breaker)."""
        return self.reason in WORKER_FAULTS


def error_message(raw: bytes, fallback: str) -> str:
    """The message of an error body in OpenAI's or Anthropic's shape, else its first bytes."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:200].decode("utf-8", "replace") or fallback
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return fallback


def status_error(status: int, raw: bytes, headers: Any) -> UpstreamError:
    """Classify a non-2xx upstream answer."""
    message = error_message(raw, f"upstream answered HTTP {status}")
    if status == 429:
        retry_after = parse_retry_after(headers.get("retry-after-ms"), millis=True)
        if retry_after is None:
            retry_after = parse_retry_after(headers.get("retry-after"))
        return UpstreamError(message, reason="rate_limited", status=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        return UpstreamError(message, reason="status_5xx", status=status)
    if status in (400, 413, 422):
        return UpstreamError(message, reason="bad_request", status=status)
    return UpstreamError(message, reason="rejected", status=status)


def transport_error(error: BaseException) -> UpstreamError:
    """Classify an exception raised while talking to a worker."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return UpstreamError(f"cannot connect: {error.os_error}", reason="connect")
    if isinstance(error, TimeoutError):
        return UpstreamError("upstream timed out", reason="timeout")
    return UpstreamError(f"connection failed: {type(error).__name__}: {error}", reason="disconnect")
