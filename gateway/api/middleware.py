"""The gateway's one middleware, written against raw ASGI.

It does what every request needs and nothing per chunk that would slow a stream down (Starlette's
``BaseHTTPMiddleware`` re-wraps every response body through a memory stream; this only adds a header to the
response start):

* the request id: the client's ``X-Request-Id`` when it sent a sane one, else a new one; echoed back on
  the response and handed to the router, which sends it upstream;
* authentication: the policy chain's ``authenticate`` hook (the ``auth`` policy) names the request's
  principal from its headers before the app runs, so a request without a valid credential is answered
  401 (with its ``WWW-Authenticate`` challenge) before a byte of its body is read;
* the body size limit: a declared ``Content-Length`` over the limit is answered 413 before a byte of the
  body is read, and a chunked body is counted as it arrives; a path may have a limit of its own
  (``path_limits``: file uploads take far more than a chat request);
* the last line of defence: an exception nothing else handled becomes OpenAI's 500 body, never a
  traceback; the traceback goes to the log;
* telemetry: the request's ``Exchange`` becomes its usage record once the response is complete (after a
  stream ended), handed to the policy chain's sinks (metrics, access log).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.exchange import SCOPE_KEY, Exchange, usage_record
from gateway.api.responses import error_body
from gateway.errors import BodyTooLarge, GatewayError
from gateway.policies import PolicyChain
from gateway.principal import ANONYMOUS

logger = logging.getLogger(__name__)

_MAX_REQUEST_ID = 128


def _new_request_id() -> str:
    # Ids need to be unique, not secret: the Mersenne Twister costs no system call (os.urandom, behind
    # uuid4, does), and the random module reseeds itself in forked workers.
    return f"{random.getrandbits(128):032x}"


def _client_request_id(value: bytes) -> str | None:
    # The id lands in logs and upstream headers: only short, printable ASCII is taken as is.
    if 0 < len(value) <= _MAX_REQUEST_ID and value.isascii():
        text = value.decode("ascii")
        if text.isprintable() and " " not in text:
            return text
    return None


class GatewayMiddleware:
    """Request id, body size limit, last-resort error body and telemetry for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        chain: PolicyChain,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.chain = chain
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_id: str | None = None
        length: int | None = None
        for name, value in scope["headers"]:
            if name in (b"x-client-request-id", b"x-request-id"):
                client_id = _client_request_id(value) or client_id
            elif name == b"content-length":
                length = int(value) if value.isdigit() else None
        # The gateway's own id, never the client's: the usage ledger keeps one record per id, so a client
        # that reused an id (by mistake or to dodge billing) must not merge requests. The client's id is
        # kept beside it for tracing, as OpenAI's API keeps X-Client-Request-Id.
        request_id = _new_request_id()
        exchange = Exchange(request_id, scope["method"], scope["path"], time.monotonic())
        exchange.client_request_id = client_id
        scope[SCOPE_KEY] = exchange
        id_headers = [(b"x-request-id", request_id.encode("ascii"))]
        if client_id is not None:
            id_headers.append((b"x-client-request-id", client_id.encode("ascii")))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                message["headers"] = [*message.get("headers", ()), *id_headers]
            await send(message)

        try:
            if self.chain.authenticates:
                try:
                    exchange.principal = await self.chain.authenticate(scope["headers"], scope["path"])
                except GatewayError as error:
                    await self._refuse(exchange, error, send_with_id)
                    return
            else:
                exchange.principal = ANONYMOUS
            limit = self.path_limits.get(scope["path"], self.max_body_bytes)
            if length is not None and length > limit:
                await self._too_large(exchange, send_with_id, limit)
                return
            if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                receive = self._counting(receive, limit)
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            await self._unhandled(exchange, error, send_with_id)
        finally:
            self.chain.record(usage_record(exchange))

    def _counting(self, receive: Receive, limit: int) -> Receive:
        """``receive`` that fails with 413 once a body without a declared length grows past the limit."""
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large_error(limit)
            return message

        return counted

    async def _too_large(self, exchange: Exchange, send: Send, limit: int) -> None:
        error = _too_large_error(limit)
        exchange.fail(error.code or error.type, error.message)
        # The unread body is still on the connection: closing it is the only way to be rid of it.
        await _send_json(
            send, error.status, error_body(error.message, error.type, error.code), [(b"connection", b"close")]
        )

    async def _refuse(self, exchange: Exchange, error: GatewayError, send: Send) -> None:
        exchange.fail(error.code or error.type, error.message)
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in (error.headers or {}).items()
        ]
        await _send_json(
            send, error.status, error_body(error.message, error.type, error.code, error.param), headers
        )

    async def _unhandled(self, exchange: Exchange, error: Exception, send: Send) -> None:
        logger.exception("unhandled error in request %s", exchange.request_id)
        exchange.fail("internal_error", f"{type(error).__name__}: {error}")
        if exchange.status:
            # The response already started (a stream): the client sees the connection end.
            return
        message = f"The gateway failed while handling the request (request id {exchange.request_id})."
        await _send_json(send, 500, error_body(message, "server_error", "internal_error"))


def _too_large_error(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"The request body is larger than the gateway accepts ({limit} bytes).")


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
