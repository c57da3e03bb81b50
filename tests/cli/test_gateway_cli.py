"""`genai gateway` and the gateway that `genai up` starts: real processes, real ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, UPSTREAM_MODEL, EchoUpstream, free_port


@dataclass
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]
    startup: float  # seconds from launch to the first 200 from /healthz
    log: Path


def genai_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "genai.cli.main", *args]


def _env(tmp_path: Path, upstream_url: str) -> dict[str, str]:
    """Environment for a `genai` process whose gateway routes ``tiny-chat`` to ``upstream_url``."""
    config = tmp_path / "genai.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "gateway": {
                    "upstreams": {
                        "echo": {"kind": "openai", "workers": [upstream_url], "vllm_metrics": False}
                    },
                    "models": {CHAT_MODEL: {"targets": [{"upstream": "echo", "model": UPSTREAM_MODEL}]}},
                }
            }
        )
    )
    return {**os.environ, "GENAI_CONFIG": str(config), "GENAI_HOME": str(tmp_path / "home")}


@pytest.fixture
def gateway_env(tmp_path: Path, echo_upstream: EchoUpstream) -> dict[str, str]:
    """Environment for a `genai` process whose gateway routes ``tiny-chat`` to the echo upstream."""
    return _env(tmp_path, echo_upstream.url)


def wait_for_health(url: str, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until ``url``/healthz answered 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert process.poll() is None, "the gateway exited during startup"
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"/healthz did not answer within {timeout} s")


@pytest.fixture
def gateway_process(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[GatewayProcess]:
    port = free_port()
    log = tmp_path / "gateway.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            genai_command("gateway", "--port", str(port)),
            env=gateway_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    gateway = GatewayProcess(f"http://127.0.0.1:{port}", process, 0.0, log)
    try:
        wait_for_health(gateway.url, process, timeout=60)
        gateway.startup = time.monotonic() - started
        yield gateway
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_fake_upstream_gateway_serves_and_stops_cleanly(gateway_process: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=f"{gateway_process.url}/v1", api_key="unused", max_retries=0)
    answer = client.chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "echo: hi"
    assert next(model.id for model in client.models.list()) == CHAT_MODEL
    gateway_process.process.send_signal(signal.SIGINT)
    assert gateway_process.process.wait(timeout=20) == 0
    log = gateway_process.log.read_text()
    # Structured logs: the access line of the request, as one JSON object.
    assert '"logger":"gateway.access"' in log and f'"model":"{CHAT_MODEL}"' in log


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    env = _env(tmp_path, f"http://127.0.0.1:{free_port()}")  # never reached: it cannot start
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            genai_command("gateway", "--port", str(port)),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "already listens" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_gateway() -> None:
    result = subprocess.run(genai_command("--help"), capture_output=True, text=True, timeout=60)
    assert "gateway" in result.stdout
    result = subprocess.run(genai_command("gateway", "--help"), capture_output=True, text=True, timeout=60)
    assert "--port" in result.stdout and "--lazy-embeddings" in result.stdout
    result = subprocess.run(genai_command("up", "--help"), capture_output=True, text=True, timeout=60)
    assert "--no-gateway" in result.stdout and "--gateway-port" in result.stdout


def test_fake_upstream_up_starts_the_gateway_process(gateway_env: dict[str, str], tmp_path: Path) -> None:
    """What `genai up` runs next to the Prefect server: `genai gateway` as a child, ready on return."""
    from genai.orchestration.services import start_gateway_process, stop_process

    port = free_port()
    settings = Settings(home=tmp_path / "home")
    settings = settings.model_copy(update={"gateway": settings.gateway.model_copy(update={"port": port})})
    process = start_gateway_process(settings, tmp_path / "gateway.log", timeout=60, env=gateway_env)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["data"][0]["id"] == CHAT_MODEL
    finally:
        stop_process(process)
    assert process.returncode is not None
