"""Serving the gateway with uvicorn, bounded against slow, malformed and oversized clients.

``server_config`` is the uvicorn configuration ``genai gateway`` runs (and tests that need a real server).
Its HTTP protocol is uvicorn's httptools one with what a public-facing server needs and uvicorn lacks:

* the request line and headers together are at most ``max_header_bytes`` (431 past it), and must arrive
  within ``header_timeout_seconds`` of their first byte, or of the connection opening (408, or a silent
  close for a connection that never sent anything);
* a body must arrive within ``body_timeout_seconds`` of its headers (408); the app sees the client leave
  and counts a 408;
* every answer the server gives by itself (a request the parser refused, those above, 503 past
  ``max_connections``) is OpenAI's JSON error body, not uvicorn's plain text.

Timers are armed only while a request is incomplete after the bytes that arrived: a request that comes in
one read (nearly all of them) costs no timer at all.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gateway.api.body import BODY_TIMED_OUT
from gateway.api.responses import error_body
from genai.settings.gateway import GatewaySettings
from genai.settings.gateway_limits import RequestLimits


def server_config(app: Any, settings: GatewaySettings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the gateway's protocol and limits; ``options`` add to it
    (host, port, log settings...)."""
    limits = settings.request_limits
    protocol = type("BoundedHttpProtocol", (BoundedHttpProtocol,), {"limits": limits})
    options.setdefault("host", settings.host)
    options.setdefault("port", settings.port)
    return uvicorn.Config(app, http=protocol, timeout_keep_alive=limits.keep_alive_seconds, **options)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded heads, head and body timeouts, and OpenAI error bodies."""

    limits: ClassVar[RequestLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the next bytes belong to a request line or headers
        self._in_body = False
        self._head_bytes = 0  # bytes received since the head began (an incomplete head's size)
        self._timer: asyncio.TimerHandle | None = None

    # -- timers ------------------------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            self._reject(408, "The request headers did not arrive in time.", "request_timeout")
        else:
            self.transport.close()  # a connection that never sent a byte: nobody to answer

    def _body_timed_out(self) -> None:
        self._timer = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or cycle.response_started:
            return
        # The app is waiting for the rest of the body: it is told the client left, and reads from the
        # scope that this was a timeout (it counts a 408).
        self.scope[BODY_TIMED_OUT] = True  # type: ignore[literal-required]
        cycle.disconnected = True
        cycle.message_event.set()
        self._reject(408, "The request body did not arrive in time.", "request_timeout")

    # -- uvicorn's protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_head and self._head_bytes:
            if self._head_bytes > self.limits.max_header_bytes:
                self._head_too_large()
            elif self._timer is None:
                self._arm(self.limits.header_timeout_seconds, self._head_timed_out)
        elif self._in_body and self._timer is None:
            self._arm(self.limits.body_timeout_seconds, self._body_timed_out)

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body, self._head_bytes = False, True, 0
        self._disarm()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._head_too_large()
            raise _Rejected  # stops the parser: nothing of this request reaches the app
        if (
            len(self.connections) > self.limits.max_connections
            or len(self.tasks) >= self.limits.max_connections
        ):
            # The request is answered by a tiny app instead of the gateway's (uvicorn's own check answers
            # in plain text).
            app, self.app = self.app, _overloaded
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._in_body = True, False
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request its parser refused (malformed request line or headers, conflicting
        # Content-Length and Transfer-Encoding...), as OpenAI's error body.
        self._reject(
            400,
            "The gateway could not parse the HTTP request (malformed request line or headers, or a body "
            "length given twice).",
            "invalid_http_request",
        )

    def _head_too_large(self) -> None:
        message = f"The request line and headers exceed {self.limits.max_header_bytes} bytes."
        self._reject(431, message, "request_header_fields_too_large")

    def _reject(self, status: int, message: str, code: str) -> None:
        """Answer ``status`` with OpenAI's error body and close the connection (once)."""
        self._disarm()
        if self.transport.is_closing():
            return
        body = error_body(message, "invalid_request_error", code)
        head = [
            STATUS_LINE[status],
            *(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers),
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class _Rejected(Exception):
    """Raised from a parser callback once the request was answered, to stop parsing it."""


async def _overloaded(scope: Any, receive: Any, send: Any) -> None:
    body = error_body(
        "The gateway has too many connections open; retry shortly.", "server_error", "service_unavailable"
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
