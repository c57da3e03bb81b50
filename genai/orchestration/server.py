"""The local Prefect server that `genai up` runs: started as a child process, health-checked, stopped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from genai.settings import Settings


class ServerStartError(RuntimeError):
    """The Prefect server did not become healthy."""


def start_prefect_server(
    settings: Settings, log_file: Path, timeout: float = 90.0
) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on the configured host and port (SQLite under ``home``) and wait until
    /api/health answers. The server's output goes to ``log_file``."""
    env = dict(os.environ)
    env.update(PREFECT_HOME=str(settings.prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false")
    env.pop("PREFECT_API_URL", None)  # the server must not think it is a client of another server
    log_file.parent.mkdir(parents=True, exist_ok=True)
    host, port = settings.prefect.host, settings.prefect.port
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://{host}:{port}/api/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"prefect server exited with code {process.returncode}; see {log_file}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_process(process)
    raise ServerStartError(f"prefect server did not answer {url} within {timeout:.0f} s; see {log_file}")


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate a child process group politely, then for good."""
    import signal

    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
