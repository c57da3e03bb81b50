"""`genai gateway`: serve the OpenAI-compatible gateway with uvicorn until Ctrl-C.

Startup stays short: the app and the router load in well under a second, and the embedding model (torch)
loads in a background thread once the server listens, so /healthz answers within a few seconds.
`genai up` runs the same command as a child process next to the Prefect server
(``genai.orchestration.services.start_gateway_process``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from genai.settings import Settings


def gateway(
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default gateway.host)."),
    port: int | None = typer.Option(None, "--port", help="Port (default gateway.port, 8000)."),
    lazy_embeddings: bool = typer.Option(
        False,
        "--lazy-embeddings",
        help="Load the embedding model on the first /v1/embeddings request "
        "instead of in the background right after startup.",
    ),
) -> None:
    """Run the OpenAI-compatible gateway (chat and text completions, embeddings, models) until Ctrl-C."""
    settings = _with_address(load_settings(), host, port)
    from genai.orchestration.prefect_env import server_answers

    address = settings.gateway
    if server_answers(address.host, address.port):
        fail(f"something already listens on {address.host}:{address.port}; stop it or pass --port")
    import uvicorn

    from gateway.app import create_app
    from gateway.server import server_config
    from gateway.telemetry.logging import configure_logging

    app = create_app(settings, warm_embeddings=not lazy_embeddings, tune_gc=True)
    # uvicorn's own messages (startup, errors) as JSON lines too; the gateway writes its own access lines.
    configure_logging(address.log_level, logger="uvicorn")
    typer.echo(f"gateway: http://{address.host}:{address.port}/v1  (docs /docs, metrics /metrics)", err=True)
    # The gateway's own HTTP protocol: bounded headers, header and body timeouts, OpenAI error bodies
    # for what the server answers by itself (gateway.server).
    config = server_config(
        app,
        address,
        access_log=False,
        log_config=None,
        log_level=address.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the Ctrl-C it shut down on; the shutdown was clean: exit 0, as uvicorn.run does.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        fail(f"the gateway could not start on {address.host}:{address.port}")


def _with_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    overrides = {key: value for key, value in {"host": host, "port": port}.items() if value is not None}
    if not overrides:
        return settings
    return settings.model_copy(update={"gateway": settings.gateway.model_copy(update=overrides)})
