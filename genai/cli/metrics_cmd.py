"""`genai metrics`: the platform's exporter for what has no long-running process of its own to scrape:
ingestion (from the run log and the quarantine table) and flow runs (from the Prefect server's API).

The gateway and the vLLM workers serve their own ``/metrics``; this one serves ``genai_ingest_*`` and
``genai_prefect_*`` series, computed at scrape time (deployments/observability, docs/observability.md).
"""

from __future__ import annotations

import signal
import threading

import typer

from genai.cli.errors import fail, load_settings


def metrics(
    port: int = typer.Option(9464, "--port", min=1, max=65535, help="Port for /metrics."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 for other machines)."),
    prefect_api: str | None = typer.Option(
        None, "--prefect-api", help="Prefect API URL (default prefect.api_url, else the local server)."
    ),
) -> None:
    """Serve ingestion and flow-run metrics on http://HOST:PORT/metrics until Ctrl-C."""
    settings = load_settings()
    from prometheus_client import CollectorRegistry, start_http_server

    from genai.orchestration.flow_metrics import FlowRunCollector
    from genai.orchestration.prefect_env import local_server_url, server_answers
    from genai.stores.ingest_metrics import IngestCollector

    if server_answers(host, port):
        fail(f"something already listens on {host}:{port}; stop it or pass --port")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngestCollector(settings.sql_url))
    registry.register(FlowRunCollector(prefect_api or settings.prefect.api_url or local_server_url(settings)))
    server, thread = start_http_server(port, addr=host, registry=registry)
    typer.echo(f"platform metrics on http://{host}:{port}/metrics (ingestion, flow runs)", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        thread.join(timeout=5)
