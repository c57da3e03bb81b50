"""The processes the gateway benchmark starts: the mock upstream, the gateway and LiteLLM proxy (the keyed
variants of both are set up in ``servers_keyed.py``).

Each runs as a child process pinned to one core with ``taskset``, logs to a file in the run's work
directory, and is ready when its probe answers 200. Both proxies get the same single route: model
``bench`` -> the mock upstream as an OpenAI-compatible endpoint, one server process each.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ROUTE_MODEL = "bench"  # what clients ask for
UPSTREAM_MODEL = "bench-upstream"  # what the proxies send to the mock


class ServerStartError(RuntimeError):
    """A child process exited or did not become ready in time."""


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    api_key: str | None = None  # what the load generator sends as a bearer token (None: nothing)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group (LiteLLM forks), then SIGKILL whatever is left."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        except ProcessLookupError:
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


Env = dict[str, str | None]  # None: unset the variable in the child


def _launch(
    command: list[str], core: int, log: Path, env: Env | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    child_env = os.environ.copy()
    for key, value in (env or {}).items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    with log.open("wb") as out:
        # Its own session, so stop() can signal the whole group (workers LiteLLM or uvicorn may fork).
        return subprocess.Popen(
            ["taskset", "-c", str(core), *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
        )


def wait_ready(name: str, process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"{name} exited with code {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServerStartError(f"{name} did not answer {url} within {timeout:.0f} s; see {log}")


def start(
    name: str,
    command: list[str],
    core: int,
    port: int,
    probe: str,
    log: Path,
    *,
    env: Env | None = None,
    cwd: Path | None = None,
    timeout: float = 90.0,
) -> Server:
    command = [str(Path(command[0]).absolute()) if os.sep in command[0] else command[0], *command[1:]]
    process = _launch(command, core, log, env, cwd)
    url = f"http://127.0.0.1:{port}"
    server = Server(name, url, process, log)
    try:
        wait_ready(name, process, url + probe, log, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_mock(workdir: Path, core: int, chunks: int, interval_ms: float) -> Server:
    port = free_port()
    command = [
        sys.executable,
        str(HERE / "mock_upstream.py"),
        "--port",
        str(port),
        "--chunks",
        str(chunks),
        "--chunk-interval-ms",
        str(interval_ms),
    ]
    return start("mock", command, core, port, "/health", workdir / "mock.log", timeout=20.0)


def start_relay(workdir: Path, core: int, mock_url: str) -> Server:
    port = free_port()
    command = [
        sys.executable,
        str(HERE / "relay.py"),
        "--port",
        str(port),
        "--upstream",
        mock_url.removeprefix("http://"),
    ]
    return start("relay", command, core, port, "/health", workdir / "relay.log", timeout=20.0)


# The plain `gateway` target's chain: the one every run before issue 8 measured (no key check, no limits,
# no ledger or audit log), so that its numbers stay comparable with the earlier tables. The `gateway-full`
# target (servers_keyed.py) adds issue 8's policies to it, the chain targets (servers_chain.py) the rest.
PLAIN_POLICIES = ["context", "metrics", "access_log"]


def gateway_config(mock_url: str, policies: list[str] | None = None) -> dict[str, object]:
    """genai.yaml's gateway section: one upstream (the mock), one route. Health checks stay on, as in
    production; vLLM's /metrics scraping is off because the mock is not vLLM. ``policies`` None: the
    gateway's default chain."""
    gateway: dict[str, object] = {
        "upstreams": {
            "mock": {
                "kind": "openai",
                "workers": [mock_url],
                "vllm_metrics": False,
                "health_path": "/health",
            }
        },
        "models": {ROUTE_MODEL: {"targets": [{"upstream": "mock", "model": UPSTREAM_MODEL}]}},
    }
    if policies is not None:
        gateway["policies"] = policies
    return {"gateway": gateway}


def start_gateway(
    workdir: Path,
    core: int,
    mock_url: str,
    genai_bin: Path,
    *,
    name: str = "gateway",
    config: dict[str, object] | None = None,
    env: Env | None = None,
) -> Server:
    """`genai gateway` (uvicorn, one worker) with its default INFO access log going to a file. Without
    ``config``: the plain target, authentication off and the pre-issue-8 chain (PLAIN_POLICIES)."""
    port = free_port()
    home = workdir / f"{name}-home"
    config_file = workdir / f"{name}.yaml"
    if config is None:
        config = gateway_config(mock_url, PLAIN_POLICIES)
        env = {"GENAI_AUTH__ENABLED": "false", **(env or {})}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    child_env: Env = {"GENAI_CONFIG": str(config_file), "GENAI_HOME": str(home), **(env or {})}
    # --lazy-embeddings: the embedding model is not part of this route; loading torch would only
    # occupy the gateway's core while the benchmark runs.
    command = [str(genai_bin), "gateway", "--lazy-embeddings", "--host", "127.0.0.1", "--port", str(port)]
    log = workdir / f"{name}.log"
    return start(name, command, core, port, "/readyz", log, env=child_env, cwd=workdir)


def litellm_config(mock_url: str) -> dict[str, object]:
    """LiteLLM proxy config: the same route, no database, no callbacks, and no master key, the
    counterpart of the plain `gateway` target, which checks no key either (LiteLLM refuses to start
    keyless unless told to). ``litellm-keyed`` (servers_keyed.py) adds the key check and limits."""
    return {
        "model_list": [
            {
                "model_name": ROUTE_MODEL,
                "litellm_params": {
                    "model": f"openai/{UPSTREAM_MODEL}",
                    "api_base": f"{mock_url}/v1",
                    "api_key": "sk-bench",
                },
            }
        ],
        "litellm_settings": {"set_verbose": False, "json_logs": False, "request_timeout": 60},
        "general_settings": {"disable_spend_logs": True, "dangerously_permit_weak_or_unset_master_key": True},
    }


def litellm_env() -> Env:
    """No network at startup (the bundled model cost map), error-level logs only (uvicorn's access log
    off too), and no database or master key inherited from the caller's environment."""
    return {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "DATABASE_URL": None,
        "LITELLM_MASTER_KEY": None,
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
    }


def start_litellm(
    workdir: Path,
    core: int,
    mock_url: str,
    litellm_bin: Path,
    *,
    name: str = "litellm",
    config: dict[str, object] | None = None,
) -> Server:
    port = free_port()
    config_file = workdir / f"{name}.yaml"
    config_file.write_text(yaml.safe_dump(config or litellm_config(mock_url), sort_keys=False))
    command = [
        str(litellm_bin),
        "--config",
        str(config_file),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    return start(
        name,
        command,
        core,
        port,
        "/health/liveliness",
        workdir / f"{name}.log",
        env=litellm_env(),
        cwd=workdir,
        timeout=180.0,
    )
