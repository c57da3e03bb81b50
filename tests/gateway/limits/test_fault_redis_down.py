"""Redis unreachable: the gateway keeps serving, each replica counting in process, says so once in its
log and in ``genai_gateway_limits_redis_up``, never answers 500 for it, and goes back to Redis once it
answers again. Faults: a port where nothing listens, and a real redis-server killed in the middle of a
run and started again."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.telemetry import metrics
from tests.fixtures.gateway import EchoUpstream, free_port
from tests.fixtures.services import service_unavailable
from tests.fixtures.silent_port import silent_port as hung_port
from tests.gateway.limits.gateway_fixtures import caller, chat, limited_gateway, limits_settings

PATH = "/v1/chat/completions"
TIERS = {"default": {"requests_per_minute": 5, "tokens_per_minute": None}}


class Lines(logging.Handler):
    """The limits logger's lines (the app's JSON logging does not propagate to pytest's capture)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


@pytest.fixture
def log() -> Iterator[Lines]:
    handler, logger = Lines(), logging.getLogger("gateway.limits")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


class RedisServer:
    """A redis-server of the test's own on ``port`` (no persistence), to kill and start again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        service_unavailable("redis-server is not installed")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def test_fault_nothing_listens_at_redis_url_so_each_replica_limits_in_process(
    tmp_path: Path, echo_upstream: EchoUpstream, log: Lines
) -> None:
    settings = limits_settings(
        tmp_path,
        echo_upstream.url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        limits={"tiers": TIERS, "redis_retry_seconds": 60},
    )
    in_process = metrics.LIMITS_IN_PROCESS._value.get()
    with limited_gateway(settings) as (url, _), httpx.Client(base_url=url, timeout=30) as http:
        answers = [http.post(PATH, json=chat(), headers=caller("acme", "gk_f")) for _ in range(7)]
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
        assert answers[0].headers["x-ratelimit-remaining-requests"] == "4"
        assert metrics.LIMITS_REDIS_UP._value.get() == 0
    assert metrics.LIMITS_IN_PROCESS._value.get() == in_process + 7
    assert log.count("unreachable") == 1  # once per state change, not per request


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Redis, a black-holed route)."""
    with hung_port() as port:
        yield port


def test_fault_a_redis_that_never_answers_costs_one_timeout(
    tmp_path: Path, echo_upstream: EchoUpstream, silent_port: int, log: Lines
) -> None:
    settings = limits_settings(
        tmp_path,
        echo_upstream.url,
        redis_url=f"redis://127.0.0.1:{silent_port}/0",
        limits={"tiers": TIERS, "redis_timeout_seconds": 0.2, "redis_retry_seconds": 60},
    )
    with limited_gateway(settings) as (url, _), httpx.Client(base_url=url, timeout=30) as http:
        started = time.monotonic()
        first = http.post(PATH, json=chat(), headers=caller("acme", "gk_h"))
        waited = time.monotonic() - started
        assert first.status_code == 200 and 0.2 <= waited < 2.0  # the timeout, then decided in process
        started = time.monotonic()
        rest = [http.post(PATH, json=chat(), headers=caller("acme", "gk_h")).status_code for _ in range(5)]
        assert rest == [200] * 4 + [429]
        assert time.monotonic() - started < 0.2 * 5  # Redis is left alone until redis_retry_seconds
    assert log.count("unreachable") == 1 and log.count("TimeoutError") == 1


def test_fault_redis_killed_mid_run_then_back(
    tmp_path: Path, echo_upstream: EchoUpstream, own_redis: RedisServer, log: Lines
) -> None:
    import redis

    settings = limits_settings(
        tmp_path,
        echo_upstream.url,
        redis_url=f"redis://127.0.0.1:{own_redis.port}/0",
        limits={"tiers": TIERS, "redis_retry_seconds": 0.5, "redis_timeout_seconds": 0.5},
    )
    who = caller("acme", "gk_k")
    with limited_gateway(settings) as (url, _), httpx.Client(base_url=url, timeout=30) as http:
        assert [http.post(PATH, json=chat(), headers=who).status_code for _ in range(2)] == [200, 200]
        counted = redis.Redis(port=own_redis.port).keys("genai:rl:{acme}:key:gk_k:r:*")
        assert len(counted) == 2  # the sorted set and its sum: counted in Redis
        assert metrics.LIMITS_REDIS_UP._value.get() == 1

        own_redis.kill()
        codes = [http.post(PATH, json=chat(), headers=who).status_code for _ in range(6)]
        with http.stream("POST", PATH, json=chat(stream=True), headers=caller("acme", "gk_s")) as stream:
            assert stream.status_code == 200 and stream.read().endswith(b"data: [DONE]\n\n")
        # In process the count starts from nothing (Redis's 2 are out of sight): 5 more, then refused.
        assert codes == [200] * 5 + [429]
        assert metrics.LIMITS_REDIS_UP._value.get() == 0
        assert log.count("unreachable") == 1

        own_redis.start()  # a fresh, empty Redis on the same port
        time.sleep(0.6)  # past redis_retry_seconds
        back = http.post(PATH, json=chat(), headers=who)
        assert back.status_code == 200
        assert back.headers["x-ratelimit-remaining-requests"] == "4"  # Redis's count: this one request
        assert metrics.LIMITS_REDIS_UP._value.get() == 1
        assert log.count("answers again") == 1
