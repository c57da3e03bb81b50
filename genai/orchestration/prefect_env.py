"""Point Prefect at the right server and home before it is imported.

Prefect reads its settings when first imported, so every entry point that runs flows calls
``configure_prefect`` first. Without an explicit API URL we use the local server that `genai up` runs if
it answers, so runs started from the command line show up in the UI; otherwise Prefect starts a temporary
server of its own for the run.
"""

from __future__ import annotations

import os
import socket

from genai.settings import Settings

EPHEMERAL_STARTUP_SECONDS = 120


def local_server_url(settings: Settings) -> str:
    return f"http://{settings.prefect.host}:{settings.prefect.port}/api"


def server_answers(host: str, port: int, timeout: float = 0.3) -> bool:
    """True if something accepts TCP connections at host:port (cheap enough to ask on every command)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def configure_prefect(settings: Settings, quiet: bool = False) -> str | None:
    """Set Prefect's environment from the settings; returns the API URL in use (None: a temporary server)."""
    os.environ["PREFECT_HOME"] = str(settings.prefect_home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    # A temporary server on a new Prefect home first runs its database migrations: on a busy 2-core machine
    # that outlasts Prefect's 20 s default, and the first flow run failed to reach its own server.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_SECONDS))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    if settings.prefect.api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect.api_url
    elif "PREFECT_API_URL" not in os.environ and server_answers(settings.prefect.host, settings.prefect.port):
        os.environ["PREFECT_API_URL"] = local_server_url(settings)
    return os.environ.get("PREFECT_API_URL")
