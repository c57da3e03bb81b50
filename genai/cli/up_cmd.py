"""`genai up`: run the platform on this machine: the Prefect server with its UI, the platform's
deployments served so data teams can launch flows from the UI's parameter forms, the MLflow UI over the
model registry and the evaluation runs, and the OpenAI-compatible gateway (a child process running
`genai gateway`, so its event loop never competes with Prefect's). With the gateway's authentication on,
the first run creates an API key for the platform's own clients and prints it once. It also runs the
platform's metrics exporter (`genai metrics`) and prints where every /metrics is and how to start
Prometheus and Grafana with the shipped configuration (deployments/observability)."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from genai.settings import Settings


def up(
    port: int | None = typer.Option(None, "--port", help="Prefect server port (default prefect.port, 4200)."),
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    gateway: bool = typer.Option(True, "--gateway/--no-gateway", help="Also run the gateway."),
    gateway_port: int | None = typer.Option(None, "--gateway-port", help="Default: gateway.port (8000)."),
    mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Also run the MLflow UI (the registry)."),
    mlflow_port: int | None = typer.Option(None, "--mlflow-port", help="Default: registry.ui_port (5000)."),
    metrics: bool = typer.Option(True, "--metrics/--no-metrics", help="Also run the metrics exporter."),
    metrics_port: int = typer.Option(9464, "--metrics-port", help="Port of the metrics exporter."),
) -> None:
    """Start the Prefect server (UI on http://HOST:PORT), the MLflow UI, the gateway, and serve the
    platform's flows until Ctrl-C."""
    settings = load_settings()
    if gateway_port is not None:
        address = settings.gateway.model_copy(update={"port": gateway_port})
        settings = settings.model_copy(update={"gateway": address})
    if mlflow_port is not None:
        registry = settings.registry.model_copy(update={"ui_port": mlflow_port})
        settings = settings.model_copy(update={"registry": registry})
    prefect = settings.prefect.model_copy(update={k: v for k, v in {"port": port, "host": host}.items() if v})
    settings = settings.model_copy(update={"prefect": prefect})
    from genai.orchestration.prefect_env import configure_prefect, local_server_url, server_answers
    from genai.orchestration.services import ServiceStartError, start_prefect_server, stop_process

    if server_answers(prefect.host, prefect.port):
        fail(f"something already listens on {prefect.host}:{prefect.port}; stop it or pass --port")
    children: list[subprocess.Popen[bytes]] = []
    try:  # whatever stops this command (Ctrl-C, a service that fails to start) stops what it started
        if gateway:
            _first_client_key(settings)
            children.append(_start_gateway(settings))
        if mlflow:
            children.append(_start_mlflow(settings))
        log_file = settings.home / "logs" / "prefect-server.log"
        typer.echo(f"starting the Prefect server on http://{prefect.host}:{prefect.port} (log: {log_file})")
        try:
            children.append(start_prefect_server(settings, log_file))
        except ServiceStartError as error:
            fail(str(error), code=1)
        configure_prefect(
            settings.model_copy(
                update={"prefect": prefect.model_copy(update={"api_url": local_server_url(settings)})}
            )
        )
        from prefect import serve

        from genai.orchestration.deployments import platform_deployments

        typer.echo(f"Prefect UI: http://{prefect.host}:{prefect.port}  (Ctrl-C stops everything)")
        if mlflow:
            ui = settings.registry
            typer.echo(f"MLflow UI: http://{ui.ui_host}:{ui.ui_port}  (registered models, evaluation runs)")
        exporter = _start_metrics(settings, metrics_port) if metrics else None
        if exporter is not None:
            children.append(exporter)
        from genai.cli.up_metrics import metrics_hint

        exporter_port = metrics_port if exporter is not None else None
        typer.echo(metrics_hint(settings, gateway=gateway, exporter_port=exporter_port))
        typer.echo(_other_shell_hint(local_server_url(settings)))
        serve(*platform_deployments(), pause_on_shutdown=False)
    finally:
        for child in reversed(children):
            stop_process(child)


def _other_shell_hint(api_url: str) -> str:
    """How another shell reaches this server: Prefect's own CLI (and the hint `serve` prints after this)
    talks to the server in PREFECT_API_URL, not to the one this command started."""
    return (
        "From another shell, point Prefect's CLI at this server first:\n"
        f"  export PREFECT_API_URL={api_url}\n"
        "  prefect deployment run ingest/ingest -p source=/path/to/documents -p knowledge_base=handbook\n"
        "(`genai ingest` finds this server by itself.)"
    )


def _first_client_key(settings: Settings) -> None:
    """With authentication on and no client key yet, create one (tenant ``default``), write it where the
    platform's own clients read it, and print it once."""
    from genai.accesskeys import ensure_client_key
    from genai.cli.keys_cmd import key_errors

    with key_errors():
        created = ensure_client_key(settings)
    if created is None:
        return
    from genai.accesskeys import client_key_path

    path = client_key_path(settings)
    typer.echo(
        f"created a first gateway API key (tenant default) and wrote it to {path} (mode 0600):\n"
        f"  {created.key}\n"
        "It is shown only this once. Clients send it as 'Authorization: Bearer <key>' (OpenAI clients: "
        "api_key=<key>); the platform's own flows read the file. More keys: genai keys create --tenant T"
    )


def _start_gateway(settings: Settings) -> subprocess.Popen[bytes]:
    from genai.orchestration.prefect_env import server_answers
    from genai.orchestration.services import ServiceStartError, start_gateway_process

    address = settings.gateway
    if server_answers(address.host, address.port):
        fail(
            f"something already listens on {address.host}:{address.port}; stop it, pass --gateway-port "
            "or --no-gateway"
        )
    log_file = settings.home / "logs" / "gateway.log"
    typer.echo(f"starting the gateway on http://{address.host}:{address.port}/v1 (log: {log_file})")
    try:
        return start_gateway_process(settings, log_file)
    except ServiceStartError as error:
        fail(str(error), code=1)


def _start_mlflow(settings: Settings) -> subprocess.Popen[bytes]:
    from genai.orchestration.prefect_env import server_answers
    from genai.orchestration.services import ServiceStartError, start_mlflow_server

    ui = settings.registry
    if server_answers(ui.ui_host, ui.ui_port):
        fail(
            f"something already listens on {ui.ui_host}:{ui.ui_port}; stop it, pass --mlflow-port "
            "or --no-mlflow"
        )
    log_file = settings.home / "logs" / "mlflow-server.log"
    typer.echo(f"starting the MLflow UI on http://{ui.ui_host}:{ui.ui_port} (log: {log_file})")
    try:
        return start_mlflow_server(settings, log_file)
    except ServiceStartError as error:
        fail(str(error), code=1)


def _start_metrics(settings: Settings, port: int) -> subprocess.Popen[bytes] | None:
    """The metrics exporter, or None with a warning: unlike the gateway it serves no one's requests, so a
    busy port (another `genai up`, another exporter) or a failed start does not stop the platform."""
    from genai.orchestration.prefect_env import server_answers
    from genai.orchestration.services import ServiceStartError, start_metrics_exporter

    host = settings.prefect.host
    if server_answers(host, port):
        typer.echo(
            f"warning: something already listens on {host}:{port}; the metrics exporter is not started "
            "(pass --metrics-port, or --no-metrics)",
            err=True,
        )
        return None
    log_file = settings.home / "logs" / "metrics-exporter.log"
    typer.echo(f"starting the metrics exporter on http://{host}:{port}/metrics (log: {log_file})")
    try:
        return start_metrics_exporter(settings, port, log_file)
    except ServiceStartError as error:
        typer.echo(f"warning: {error}; running without the metrics exporter", err=True)
        return None
