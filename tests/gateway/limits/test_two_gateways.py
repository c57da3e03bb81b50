"""Two real gateway processes (``genai gateway``, authentication on, one API key) sharing one Redis
limit: a client drives both above the key's limit for a minute, and the accepted requests are within 1%
of the limit. Slow: about 65 s (a minute of traffic, plus 2-3 s to start the two gateways)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from genai.accesskeys import create_key
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, UPSTREAM_MODEL, EchoUpstream, free_port
from tests.gateway.limits.gateway_fixtures import chat

pytestmark = [pytest.mark.slow, pytest.mark.redis]

LIMIT = 600  # requests per minute of the key's tier
LOAD_SECONDS = 60.0
RATE = 20.0  # requests per second over both gateways: 1200 a minute, twice the limit


def gateway_config(home: Path, upstream: str, redis_url: str, prefix: str) -> Path:
    config = {
        "home": str(home),
        "redis_url": redis_url,
        "auth": {"enabled": True},
        "registry": {"enabled": False},
        "gateway": {
            "policies": ["auth", "limits"],
            "log_level": "WARNING",
            "upstreams": {"echo": {"kind": "openai", "workers": [upstream], "vllm_metrics": False}},
            "models": {CHAT_MODEL: {"targets": [{"upstream": "echo", "model": UPSTREAM_MODEL}]}},
        },
        "limits": {
            "backend": "redis",
            "redis_prefix": prefix,
            "redis_timeout_seconds": 1.0,  # a loaded laptop must not look like a Redis outage
            "tiers": {"default": {"requests_per_minute": LIMIT, "tokens_per_minute": None}},
        },
    }
    path = home / "genai.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the gateway exited with {process.returncode}"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the gateway at {url} did not answer /healthz within 60 s")


@pytest.fixture
def two_gateways(
    tmp_path: Path, echo_upstream: EchoUpstream, redis_url: str, redis_prefix: str
) -> Iterator[tuple[list[str], str]]:
    """Two ``genai gateway`` processes with one config (same home, same key database, same Redis), and
    a key for them."""
    home = tmp_path / "home"
    home.mkdir()
    config = gateway_config(home, echo_upstream.url, redis_url, redis_prefix)
    key = create_key(Settings(home=home, auth={"enabled": True}), "acme", name="two-gateways").key
    env = {**os.environ, "GENAI_CONFIG": str(config), "GENAI_HOME": str(home), "GENAI_AUTH__ENABLED": "true"}
    processes, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            command = [sys.executable, "-m", "genai.cli.main", "gateway", "--port", str(port)]
            command.append("--lazy-embeddings")
            processes.append(subprocess.Popen(command, env=env, cwd=tmp_path))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_healthy(url, process)
        yield urls, key
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def test_two_gateways_share_one_redis_limit_within_one_percent(two_gateways: tuple[list[str], str]) -> None:
    urls, key = two_gateways
    clients = [httpx.Client(base_url=url, timeout=30) for url in urls]
    headers = {"Authorization": f"Bearer {key}"}
    results: Counter[tuple[int, int]] = Counter()  # (gateway, status) -> count
    lock = threading.Lock()

    def send(index: int) -> None:
        which = index % 2
        status = clients[which].post("/v1/chat/completions", json=chat(), headers=headers).status_code
        with lock:
            results[(which, status)] += 1

    try:
        start = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            index = 0
            while (at := start + index / RATE) < start + LOAD_SECONDS:
                time.sleep(max(0.0, at - time.monotonic()))
                pool.submit(send, index)
                index += 1
    finally:
        for client in clients:
            client.close()
    statuses = {status for _, status in results}
    assert statuses <= {200, 429}, results
    accepted = results[(0, 200)] + results[(1, 200)]
    print(f"two gateways, {index} requests in {LOAD_SECONDS:.0f} s: {accepted} accepted; {dict(results)}")
    assert abs(accepted - LIMIT) <= LIMIT * 0.01, results
    # Each gateway served part of the limit and refused above it: they counted together.
    assert results[(0, 200)] > 0 and results[(1, 200)] > 0, results
    assert results[(0, 429)] > 0 and results[(1, 429)] > 0, results
    assert sum(results.values()) == index
