"""An upstream's open stream (``UpstreamStream``), the per-provider event translator it drives
(``StreamDecoder``) and the usage counts both report (``normalize_usage``).

The stream splits the upstream's bytes into SSE events, hands each to the provider's decoder and bounds
the rest of the stream by an idle timeout and the request's deadline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import aiohttp

from gateway.upstreams.errors import UpstreamError, transport_error


class StreamDecoder(Protocol):
    """Turns one raw upstream SSE event into an OpenAI chunk event (or nothing), tracking usage."""

    usage: dict[str, int] | None
    done: bool  # the upstream said the stream is complete

    @property
    def finished(self) -> bool:
        """Whether the answer reached its end (a finish reason), so a missing end marker is harmless;
        asked only when the stream ends without one."""

    def decode(self, event: bytes) -> bytes | None: ...


def normalize_usage(usage: Any) -> dict[str, int] | None:
    """An upstream's OpenAI-format usage as plain counts; ``cached_tokens`` (prompt tokens the upstream
    served from its prefix cache, ``prompt_tokens_details.cached_tokens``) only when it reported them."""
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    counts = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
        counts["cached_tokens"] = details["cached_tokens"]
    return counts


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


def now_seconds() -> int:
    return int(time.time())
