"""The local services `genai up` runs as child processes: the Prefect server, the MLflow server (the
registry's UI), the gateway and the metrics exporter (`genai metrics`).

Each starts in its own process session with its output in a log file, and counts as started only once its
health endpoint answers; ``stop_process`` ends the whole session politely, then for good.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from genai.settings import Settings


class ServiceStartError(RuntimeError):
    """A child service exited or did not become healthy in time."""


def start_service(
    name: str,
    command: Sequence[str],
    health_url: str,
    log_file: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``command`` (output to ``log_file``) and wait until ``health_url`` answers 200."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else dict(env),
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceStartError(f"{name} exited with code {process.returncode}; see {log_file}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(health_url, timeout=1.0).status_code == 200:
                return process
        time.sleep(0.2)
    stop_process(process)
    raise ServiceStartError(f"{name} did not answer {health_url} within {timeout:.0f} s; see {log_file}")


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate a child's process group politely, then for good."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_prefect_server(
    settings: Settings, log_file: Path, timeout: float = 90.0
) -> subprocess.Popen[bytes]:
    """`prefect server start` on the configured host and port, its SQLite database under ``home``."""
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(settings.prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
        # /api/metrics: the server's own counters (events, websockets), scraped by deployments/observability.
        PREFECT_SERVER_METRICS_ENABLED="true",
    )
    env.pop("PREFECT_API_URL", None)  # the server must not think it is a client of another server
    host, port = settings.prefect.host, settings.prefect.port
    # The UI asks the server for the API address it should call; without these it is told port 4200
    # whatever --port says, and a UI on another port talks to the wrong server (or none).
    env.update(
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=f"http://{host}:{port}/api",
    )
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    return start_service(
        "the Prefect server", command, f"http://{host}:{port}/api/health", log_file, timeout, env
    )


def start_gateway_process(
    settings: Settings, log_file: Path, timeout: float = 60.0, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`genai gateway` on the configured host and port (environment ``env`` or this process's)."""
    host, port = settings.gateway.host, settings.gateway.port
    command = [sys.executable, "-m", "genai.cli.main", "gateway", "--host", host, "--port", str(port)]
    return start_service("the gateway", command, f"http://{host}:{port}/healthz", log_file, timeout, env)


def start_mlflow_server(settings: Settings, log_file: Path, timeout: float = 90.0) -> subprocess.Popen[bytes]:
    """`mlflow server` (the MLflow UI and REST API) on ``registry.ui_host:ui_port``, over the platform's
    tracking store and artifact location, so the UI shows what the registry and the flows wrote."""
    assert settings.mlflow_tracking_uri is not None
    store = settings.mlflow_tracking_uri
    if store.startswith("sqlite:///"):  # a new home: the database's folder may not exist yet
        Path(store.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    artifacts = settings.registry.artifact_location or str(settings.home / "mlartifacts")
    host, port = settings.registry.ui_host, settings.registry.ui_port
    command = [
        *(sys.executable, "-m", "mlflow", "server"),
        *("--backend-store-uri", store, "--default-artifact-root", artifacts),
        *("--host", host, "--port", str(port)),
        # One worker: the UI serves one person, and each worker is a whole MLflow process (~200 MB).
        *("--workers", "1"),
    ]
    return start_service("the MLflow server", command, f"http://{host}:{port}/health", log_file, timeout)


def start_metrics_exporter(
    settings: Settings, port: int, log_file: Path, timeout: float = 60.0
) -> subprocess.Popen[bytes]:
    """`genai metrics` (ingestion and flow-run series) on the Prefect server's host and ``port``."""
    host = settings.prefect.host
    command = [sys.executable, "-m", "genai.cli.main", "metrics", "--host", host, "--port", str(port)]
    return start_service("the metrics exporter", command, f"http://{host}:{port}/metrics", log_file, timeout)
