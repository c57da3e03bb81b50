"""The gateway's ASGI application.

``create_app(settings)`` builds it around a ``ModelRouter`` (the real ``gateway.routing`` router unless a
test passes its own); the app's lifespan starts and stops the router. Serve it with any ASGI server, e.g.
``uvicorn.run(create_app(get_settings()))`` or ``genai gateway``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from gateway.api import api_routers
from gateway.api.batch_state import BatchContext, upload_limit
from gateway.api.errors import install_error_handlers
from gateway.api.middleware import GatewayMiddleware
from gateway.api.openapi import add_component_schemas
from gateway.api.state import GatewayState
from gateway.auth.openapi import document_security
from gateway.embeddings import EmbeddingService
from gateway.gc_tuning import tune_for_serving
from gateway.policies import PolicyChain, build_chain
from gateway.protocol import (
    BatchCreateRequest,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingRequest,
)
from gateway.router_protocol import ModelRouter
from gateway.telemetry.logging import configure_logging

if TYPE_CHECKING:
    from genai.settings import Settings

_WARM_UP_DELAY_S = 1.0
_DESCRIPTION = (
    "An OpenAI-compatible gateway: chat and text completions routed to self-hosted and hosted models with "
    "load balancing, retries and fallback; embeddings from the platform's own embedding model. Every error "
    'is `{"error": {"message", "type", "param", "code"}}`.'
)


class GatewayApp(FastAPI):
    """FastAPI, with the protocol models the endpoints read by hand added to the OpenAPI document."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            add_component_schemas(
                document,
                [
                    (ChatCompletionRequest, "validation"),
                    (CompletionRequest, "validation"),
                    (EmbeddingRequest, "validation"),
                    (BatchCreateRequest, "validation"),
                    (ChatCompletion, "serialization"),
                    (ChatCompletionChunk, "serialization"),
                    (Completion, "serialization"),
                ],
            )
            if self.state.gateway.chain.authenticates:  # the document asks for what this gateway asks for
                document_security(document)
        assert self.openapi_schema is not None
        return self.openapi_schema


def create_app(
    settings: Settings,
    router: ModelRouter | None = None,
    *,
    warm_embeddings: bool = False,
    tune_gc: bool = False,
    chain: PolicyChain | None = None,
) -> FastAPI:
    """The gateway app for ``settings``.

    ``router`` defaults to ``gateway.routing.Router.from_settings(settings.gateway, ...)``, which follows the
    model registry at ``settings.mlflow_tracking_uri`` when ``settings.registry.enabled`` (polled in the
    background from the lifespan's start, so start-up never waits for MLflow). ``warm_embeddings``
    loads the embedding model in a background thread once the app started; otherwise the first
    /v1/embeddings request loads it. ``tune_gc`` (for a process that serves only this app) freezes
    start-up objects and collects less often (``gateway.gc_tuning``). ``chain`` defaults to the policies
    ``settings.gateway.policies`` names (``gateway.policies.build_chain``).
    """
    if router is None:
        from gateway.routing.router import Router

        router = Router.from_settings(
            settings.gateway, registry=settings.registry, tracking_uri=settings.mlflow_tracking_uri
        )
    state = GatewayState(
        settings.gateway,
        router,
        EmbeddingService(
            settings.embedding,
            settings.gateway.embedding_models,
            settings.gateway.request_limits.embedding_max_in_flight,
        ),
        chain or build_chain(settings.gateway.policies, settings),
    )
    configure_logging(settings.gateway.log_level)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.router.start()
        if tune_gc:
            tune_for_serving()
        if warm_embeddings and state.settings.embedding_models:
            # Importing torch holds the GIL for seconds: start only once the server listens (it binds
            # right after this startup returns), so the first probes and requests are answered promptly.
            state.embeddings.warming = True  # /readyz waits for the model from now on, not from the load
            asyncio.get_running_loop().call_later(_WARM_UP_DELAY_S, state.embeddings.warm_up)
        try:
            yield
        finally:
            await state.router.close()
            await state.chain.close()

    app = GatewayApp(
        title="genai-platform gateway",
        description=_DESCRIPTION,
        version=_version(),
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # The gateway's telemetry is its own Prometheus series and JSON access lines; FastAPI's native
        # OpenTelemetry would otherwise probe for configured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = state
    app.state.batch_api = BatchContext.from_settings(settings)  # /v1/files and /v1/batches
    for api_router in api_routers():
        app.include_router(api_router)
    install_error_handlers(app)
    app.add_middleware(
        GatewayMiddleware,
        max_body_bytes=settings.gateway.max_body_bytes,
        chain=state.chain,
        path_limits={"/v1/files": upload_limit(settings)},
    )
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-platform")
    except PackageNotFoundError:
        return "0.0.0"
