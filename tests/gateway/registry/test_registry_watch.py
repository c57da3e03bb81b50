"""The registry watcher in a running gateway: a registry that stops answering leaves the last routes in
place (logged once, gauge and counter), one that comes back is followed again, and a registry whose SQLite
file does not exist costs no MLflow import and creates no file."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.routing.registry_watch import shown_uri, sqlite_file
from genai.settings.registry import RegistrySettings
from tests.fixtures.gateway import EchoUpstream
from tests.gateway.registry.conftest import (
    RegistryGateway,
    SnapshotSource,
    gateway_settings,
    snapshot_of,
    spec,
    start_gateway,
    wait_for,
)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def watch_log() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("gateway.routing.registry_watch")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def registry_state(gateway: RegistryGateway) -> str:
    state: str = gateway.http.get("/readyz").json()["router"]["registry"]["state"]
    return state


def metric(gateway: RegistryGateway, name: str) -> float:
    for line in gateway.http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_fault_registry_unreachable_keeps_the_last_routes(
    tmp_path: Path, echo_upstream: EchoUpstream, watch_log: Lines
) -> None:
    source = SnapshotSource()
    versions = {n: spec("openai", base_url=echo_upstream.url, served_model=f"echo-v{n}") for n in (1, 2)}
    source.snapshot = snapshot_of({"qa": (versions, {"champion": 1})})
    settings = gateway_settings(tmp_path, echo_upstream.url)
    with start_gateway(settings, source, RegistrySettings(poll_seconds=0.05)) as gateway:
        assert gateway.chat("qa").headers["x-genai-model-version"] == "qa/1"
        failed_before = metric(gateway, "genai_gateway_registry_polls_failed_total")

        source.failing = True
        wait_for(lambda: registry_state(gateway) == "down", what="the watcher seeing the outage")
        polls = source.polls
        wait_for(lambda: source.polls >= polls + 10, what="ten more failed polls")
        answer = gateway.chat("qa")
        assert answer.status_code == 200 and answer.headers["x-genai-model-version"] == "qa/1"
        assert echo_upstream.last()["body"]["model"] == "echo-v1"
        assert gateway.registry_up() == 0
        assert metric(gateway, "genai_gateway_registry_polls_failed_total") >= failed_before + 10
        assert gateway.http.get("/readyz").status_code == 200  # serving the last routes is being ready
        down = [m for m in watch_log.messages if "unreachable" in m]
        assert len(down) == 1 and "keeping the last snapshot" in down[0]

        # Back again, with the champion moved meanwhile: followed at the next poll.
        source.snapshot = snapshot_of({"qa": (versions, {"champion": 2})})
        source.failing = False
        wait_for(lambda: gateway.chat("qa").headers["x-genai-model-version"] == "qa/2", what="recovery")
        assert gateway.registry_up() == 1
        assert sum("read:" in m for m in watch_log.messages) == 2  # first read, and the recovery


def test_fault_first_poll_failing_leaves_settings_routes_serving(
    tmp_path: Path, echo_upstream: EchoUpstream
) -> None:
    source = SnapshotSource(failing=True)
    with start_gateway(gateway_settings(tmp_path, echo_upstream.url), source) as gateway:
        assert registry_state(gateway) == "down"
        assert gateway.chat("tiny-chat").status_code == 200
        assert gateway.chat("qa").status_code == 404


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////abs/dir/mlflow.db", Path("/abs/dir/mlflow.db")),
        ("sqlite:///relative/mlflow.db", Path("relative/mlflow.db")),
        ("http://127.0.0.1:5000", None),
        ("postgresql://u@h/db", None),
    ],
)
def test_sqlite_file_of_a_tracking_uri(uri: str, path: Path | None) -> None:
    assert sqlite_file(uri) == path


def test_a_password_in_the_tracking_uri_is_never_shown() -> None:
    assert shown_uri("https://ops:s3cret@mlflow.example:8443/x") == "https://ops:***@mlflow.example:8443/x"
    assert shown_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


ABSENT_STORE = """
import asyncio, sys
from pathlib import Path
from gateway.app import create_app
from genai.settings import Settings

home = Path(sys.argv[1])
app = create_app(Settings(home=home))
router = app.state.gateway.router

async def main():
    await router.start()
    await asyncio.sleep(0.5)
    state, ready, models = router.watcher.state, router.ready(), router.models()
    await router.close()
    return state, ready, models

state, ready, models = asyncio.run(main())
# SQLAlchemy is the usage ledger's (on by default); the registry's MLflow must not load for a missing store.
heavy = sorted(m for m in ("mlflow", "registry.client") if m in sys.modules)
print(state, ready, len(models), heavy, (home / "mlflow.db").exists())
"""


def test_absent_sqlite_store_imports_no_mlflow_and_creates_no_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ABSENT_STORE, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "absent True 0 [] False"
