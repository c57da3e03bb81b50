"""`genai up`: run the platform on this machine: the Prefect server with its UI, and the platform's
deployments served so data teams can launch flows from the UI's parameter forms."""

from __future__ import annotations

import typer

from genai.cli.errors import fail, load_settings


def up(
    port: int | None = typer.Option(None, "--port", help="Prefect server port (default prefect.port, 4200)."),
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
) -> None:
    """Start the Prefect server (UI on http://HOST:PORT) and serve the platform's flows until Ctrl-C."""
    settings = load_settings()
    prefect = settings.prefect.model_copy(update={k: v for k, v in {"port": port, "host": host}.items() if v})
    settings = settings.model_copy(update={"prefect": prefect})
    from genai.orchestration.prefect_env import configure_prefect, local_server_url, server_answers
    from genai.orchestration.server import ServerStartError, start_prefect_server, stop_process

    if server_answers(prefect.host, prefect.port):
        fail(f"something already listens on {prefect.host}:{prefect.port}; stop it or pass --port")
    log_file = settings.home / "logs" / "prefect-server.log"
    typer.echo(f"starting the Prefect server on http://{prefect.host}:{prefect.port} (log: {log_file})")
    try:
        server = start_prefect_server(settings, log_file)
    except ServerStartError as error:
        fail(str(error), code=1)
    try:
        configure_prefect(settings.model_copy(update={"prefect": prefect.model_copy(
            update={"api_url": local_server_url(settings)})}))
        from prefect import serve

        from genai.orchestration.deployments import platform_deployments

        typer.echo(f"Prefect UI: http://{prefect.host}:{prefect.port}  (Ctrl-C stops everything)")
        serve(*platform_deployments(), pause_on_shutdown=False)
    finally:
        stop_process(server)
