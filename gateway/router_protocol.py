"""The contract between the HTTP layer (``gateway/api``) and the router (``gateway/routing``).

The API layer validates a request, builds a ``RequestContext`` and hands the router a plain dict body in
OpenAI's format with the client-facing model name. The router resolves the model to its chain of
upstreams, picks a worker, retries and falls back, and answers in OpenAI's format with the client-facing
model name again. Errors are ``gateway.errors.GatewayError`` subclasses.

A model name is either a route written in the settings (``gateway.models``) or a reference to a version of
the model registry (``NAME``: its champion, ``NAME@challenger``, ``NAME/3``): ``pin`` settles which, once
per request, before the policy chain runs, so that every policy and the router see the same version even
if the registry moves an alias meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.context import RequestContext


@dataclass(frozen=True)
class ModelInfo:
    """A model the gateway can route, as /v1/models lists it."""

    name: str
    owned_by: str
    context_window: int | None = None
    # Registered models only: the champion's version number, its kind, and every alias set (alias -> N).
    version: int | None = None
    kind: str | None = None
    aliases: dict[str, int] | None = None


class ModelRouter(Protocol):
    async def start(self) -> None:
        """Begin background work: DNS discovery, health checks, scraping workers' /metrics."""

    async def close(self) -> None:
        """Stop background work and close connections."""

    def models(self) -> list[ModelInfo]:
        """Every routed model name."""

    def knows(self, model: str) -> bool:
        """Whether ``model`` has a route or names a registered model (the API answers 404 otherwise)."""

    def pin(self, ctx: RequestContext) -> None:
        """Settle what serves the request for ``ctx.model``: for a registered model the version it names
        (a bare name picks the champion, or the challenger for the canary share of users, sticky by
        ``ctx.user``, else ``ctx.affinity_key``, else the request id), setting ``ctx.version``,
        ``ctx.model_version`` and ``ctx.context_window``; for a settings route, only the context window.
        Raises ``ModelNotFound`` naming what exists when the version or alias does not."""

    def ready(self) -> bool:
        """True when every routed model has at least one upstream with a worker up (for /readyz)."""

    def status(self) -> dict[str, Any]:
        """Upstreams, workers, health, circuit state and load, for /readyz and debugging."""

    async def complete(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming chat or text completion; sets ``ctx.usage``, ``ctx.upstream``, ``ctx.worker``,
        ``ctx.served_model``, and ``ctx.router_started`` / ``ctx.router_stopped`` (its own time on the
        request; a stream's stop is set when its iterator ends). It meters nothing itself: the API layer's
        usage record carries these to the sinks."""

    async def embed(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        """Embeddings from the model's upstreams (those that have an embeddings API), with the same
        retries and fallback as a completion; answers OpenAI's embeddings list, sets ``ctx.usage``."""

    async def stream(self, ctx: RequestContext, body: dict[str, Any]) -> AsyncIterator[bytes]:
        """A streaming completion. Awaiting this returns only once the first upstream event arrived, so
        retries and fallback happen before any byte reaches the client. The iterator yields SSE-framed
        events (``b"data: {...}\\n\\n"``) in OpenAI's chunk format and always ends with
        ``b"data: [DONE]\\n\\n"``. A failure after the first event yields one
        ``data: {"error": {...}}`` event, then ``[DONE]``; it never hangs past ``ctx.deadline``. Usage is
        always requested from the upstream and set on ``ctx.usage``; the usage chunk is passed to the client
        only if it asked for ``stream_options.include_usage``."""
