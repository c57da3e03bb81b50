"""The ``Provider`` base class every upstream kind implements, and the HTTP plumbing they share.

A provider turns an OpenAI-format request body into one upstream HTTP request and the upstream's answer
back into OpenAI's format with the client-facing model name. It never retries or picks workers: the router
does that, told what went wrong by an ``UpstreamError`` whose ``reason`` says whether a retry, a fallback
or neither makes sense. One ``aiohttp.ClientSession`` per upstream keeps connections alive across requests
(aiohttp measured ~10x httpx's throughput under concurrency on this gateway's workload).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

import aiohttp
from yarl import URL

from gateway.context import Endpoint, RequestContext
from gateway.upstreams.base import StreamDecoder, UpstreamStream
from gateway.upstreams.errors import status_error, transport_error
from genai.settings.gateway import UpstreamSettings


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
        if ctx.client_request_id is not None:
            headers["X-Client-Request-Id"] = ctx.client_request_id
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
