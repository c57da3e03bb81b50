"""The Provider interface every upstream kind implements, and the HTTP plumbing they share.

A provider turns an OpenAI-format request body into one upstream HTTP request and the upstream's answer
back into OpenAI's format with the client-facing model name. It never retries or picks workers: the router
does that, told what went wrong by an ``UpstreamError`` whose ``reason`` says whether a retry, a fallback
or neither makes sense. One ``aiohttp.ClientSession`` per upstream keeps connections alive across requests
(aiohttp measured ~10x httpx's throughput under concurrency on this gateway's workload).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import aiohttp
import orjson
from yarl import URL

from gateway.context import Endpoint, RequestContext
from genai.settings_gateway import UpstreamSettings

# Why an attempt failed. The first group may be retried on the same upstream; "rejected" means this
# upstream refuses the request (bad key, unknown model) so only the next upstream may help; "bad_request"
# is the client's fault and ends the request; "deadline" means the request's own time ran out.
RETRYABLE = frozenset(
    {"connect", "timeout", "disconnect", "rate_limited", "status_5xx", "malformed", "stream_error"}
)
WORKER_FAULTS = frozenset({"connect", "timeout", "disconnect", "status_5xx", "malformed", "stream_error"})

DONE = b"data: [DONE]\n\n"


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


class StreamDecoder(Protocol):
    """Turns one raw upstream SSE event into an OpenAI chunk event (or nothing), tracking usage."""

    usage: dict[str, int] | None
    done: bool  # the upstream said the stream is complete

    @property
    def finished(self) -> bool:
        """Whether the answer reached its end (a finish reason), so a missing end marker is harmless;
        asked only when the stream ends without one."""

    def decode(self, event: bytes) -> bytes | None: ...


def sse_frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def sse_data(event: bytes) -> bytes | None:
    """The data of one SSE event (several data lines joined by newlines); None for comments-only events."""
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:]
    lines = [line[5:].removeprefix(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


def normalise_usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


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


def parse_retry_after(value: str | None, *, millis: bool = False, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (``retry-after-ms`` with
    ``millis``). None when absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        if millis:
            return None
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    else:
        if millis:
            seconds /= 1000.0
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


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


class UpstreamStream:
    """An open streaming response: async-iterates OpenAI chunk events, ends at the upstream's end marker.

    Failures raise ``UpstreamError``. ``close()`` is synchronous so it can run from any cleanup path.
    ``watch()`` bounds the rest of the stream by an idle timeout and a deadline with one timer per stream
    (re-armed only when it fires), instead of a timeout context around every event.
    """

    __slots__ = (
        "_buffer",
        "_deadline",
        "_decoder",
        "_expired",
        "_idle",
        "_last_data",
        "_pending",
        "_response",
        "_timer",
    )

    def __init__(self, response: aiohttp.ClientResponse, decoder: StreamDecoder) -> None:
        self._response = response
        self._decoder = decoder
        self._buffer = b""
        self._pending: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None
        self._expired: str | None = None
        self._deadline = self._idle = self._last_data = 0.0

    def watch(self, deadline: float, idle: float) -> None:
        """Fail the stream once no data came for ``idle`` seconds (reason "timeout") or at ``deadline``
        on the ``time.monotonic()`` clock (reason "deadline")."""
        self._deadline = deadline
        self._idle = idle
        self._last_data = time.monotonic()
        self._arm()

    def _arm(self) -> None:
        due = min(self._deadline, self._last_data + self._idle)
        self._timer = asyncio.get_running_loop().call_later(max(0.0, due - time.monotonic()), self._check)

    def _check(self) -> None:
        now = time.monotonic()
        if now >= self._deadline:
            self._expired = "deadline"
        elif now >= self._last_data + self._idle:
            self._expired = "timeout"
        else:
            self._arm()  # data arrived since the timer was set: look again when it could expire
            return
        # Wakes the pending read at once; the connection is dropped by close().
        self._response.content.set_exception(TimeoutError())

    @property
    def usage(self) -> dict[str, int] | None:
        return self._decoder.usage

    def __aiter__(self) -> UpstreamStream:
        return self

    async def __anext__(self) -> bytes:
        decoder = self._decoder
        while not decoder.done:
            if not self._pending and not await self._fill():
                if decoder.finished:
                    break
                raise UpstreamError("upstream stream ended before completion", reason="disconnect")
            # Events were split in arrival order; reverse once so pop() takes the oldest.
            out = decoder.decode(self._pending.pop())
            if out is not None:
                return out
        self.close()
        raise StopAsyncIteration

    async def _fill(self) -> bool:
        """Read until at least one whole event is buffered; False at end of stream."""
        content = self._response.content
        while not self._pending:
            try:
                chunk = await content.readany()
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                if self._expired == "deadline":
                    raise UpstreamError("the request's deadline passed", reason="deadline") from None
                if self._expired == "timeout":
                    raise UpstreamError(f"upstream stalled for {self._idle:g}s", reason="timeout") from None
                raise transport_error(error) from error
            if not chunk:
                # An unterminated last event (e.g. "data: [DONE]\n") still counts; after it, the end.
                last, self._buffer = self._buffer.strip(), b""
                if last:
                    self._pending = [last]
                return bool(last)
            self._last_data = time.monotonic()
            buffer = self._buffer + chunk
            if b"\r" in chunk:
                buffer = buffer.replace(b"\r\n", b"\n")
            events = buffer.split(b"\n\n")
            self._buffer = events.pop()
            events.reverse()
            self._pending = [event for event in events if event]
        return True

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._response.close()


class Provider(ABC):
    """One upstream's protocol. Subclasses say how to build a request and read an answer."""

    kind: str = ""

    def __init__(self, name: str, settings: UpstreamSettings) -> None:
        self.name = name
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[tuple[str, str], URL] = {}
        self._headers: dict[str, str] = {"Content-Type": "application/json", **settings.headers}

    # -- what a subclass provides -------------------------------------------------------------------

    def supports(self, endpoint: Endpoint) -> bool:
        """Whether this upstream's API has ``endpoint`` at all (Anthropic's, for one, has no embeddings)."""
        return True

    @abstractmethod
    def path(self, endpoint: Endpoint) -> str:
        """The request path under a worker's base URL, e.g. ``/v1/chat/completions``."""

    @abstractmethod
    def encode(self, ctx: RequestContext, body: dict[str, Any], model: str, stream: bool) -> bytes:
        """The upstream request body for the client's OpenAI-format ``body``."""

    @abstractmethod
    def decode(self, ctx: RequestContext, raw: bytes) -> dict[str, Any]:
        """The OpenAI-format answer for a non-streaming upstream answer; raises ``UpstreamError``."""

    @abstractmethod
    def stream_decoder(self, ctx: RequestContext, include_usage: bool) -> StreamDecoder:
        """A fresh per-request translator of the upstream's stream events."""

    # -- shared HTTP plumbing ----------------------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        """The upstream's one shared client, created on first use inside the running loop."""
        if self._session is None or self._session.closed:
            settings = self.settings
            # Idle connections are dropped before uvicorn's (vLLM's) 5 s keep-alive would close them, so a
            # request never races the server closing the connection it reuses.
            connector = aiohttp.TCPConnector(limit=settings.max_connections, keepalive_timeout=4.0)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self._session

    def url(self, base: str, endpoint: Endpoint) -> URL:
        key = (base, endpoint)
        url = self._urls.get(key)
        if url is None:
            parsed = URL(base)
            prefix = parsed.path.rstrip("/")
            # A base URL with a path (https://api.openai.com/v1, an Azure deployment) already names the
            # API root; a bare host:port (vLLM, Ollama, TGI) serves it under /v1.
            path = self.path(endpoint)
            if prefix:
                path = prefix + path.removeprefix("/v1")
            url = parsed.with_path(path)
            if self.settings.api_version:
                url = url.with_query({"api-version": self.settings.api_version})
            if len(self._urls) > 4096:  # DNS-discovered workers come and go
                self._urls.clear()
            self._urls[key] = url
        return url

    def headers(self, ctx: RequestContext) -> dict[str, str]:
        headers = self._headers.copy()
        headers["X-Request-Id"] = ctx.request_id
        return headers

    async def complete(
        self, base: str, ctx: RequestContext, body: dict[str, Any], model: str
    ) -> dict[str, Any]:
        """One non-streaming attempt against the worker at ``base``."""
        payload = self.encode(ctx, body, model, False)
        try:
            async with self.session().post(
                self.url(base, ctx.endpoint), data=payload, headers=self.headers(ctx)
            ) as response:
                raw = await response.read()
                if response.status >= 300:
                    raise status_error(response.status, raw, response.headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise transport_error(error) from error
        return self.decode(ctx, raw)

    async def open_stream(
        self, base: str, ctx: RequestContext, body: dict[str, Any], model: str
    ) -> UpstreamStream:
        """Start a streaming attempt; returns once the upstream answered 2xx headers."""
        options = body.get("stream_options")
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        payload = self.encode(ctx, body, model, True)
        try:
            response = await self.session().post(
                self.url(base, ctx.endpoint), data=payload, headers=self.headers(ctx)
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise transport_error(error) from error
        if response.status >= 300:
            try:
                raw = await response.read()
            except (aiohttp.ClientError, OSError, TimeoutError):
                raw = b""
            finally:
                response.close()
            raise status_error(response.status, raw, response.headers)
        return UpstreamStream(response, self.stream_decoder(ctx, include_usage))

    async def probe(self, base: str, path: str, timeout: float) -> tuple[int, bytes]:
        """GET ``path`` at the worker's origin (health, /metrics); transport failures raise."""
        url = URL(base).with_path(path)
        async with asyncio.timeout(timeout):
            async with self.session().get(url, headers=self._headers) as response:
                return response.status, await response.read()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def now_seconds() -> int:
    return int(time.time())
