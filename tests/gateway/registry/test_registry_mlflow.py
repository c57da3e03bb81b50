"""A running gateway following a real MLflow registry (``registry.client.ModelRegistry`` on SQLite, and a
real ``mlflow server`` for the outage): the reference forms, an alias moved with MlflowClient directly
served within 10 s, and a registry server killed under the gateway."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from genai.settings import Settings
from genai.settings.registry import RegistrySettings
from registry.client import ModelRegistry
from tests.fixtures.gateway import EchoUpstream, ServerThread, free_port
from tests.gateway.registry.conftest import RegistryGateway, SnapshotSource, gateway_settings, spec, wait_for

POLL_SECONDS = 0.5


def register_qa(registry: ModelRegistry, echo_url: str) -> None:
    for number in (1, 2, 3):
        registry.register("qa", spec("openai", base_url=echo_url, served_model=f"echo-v{number}"))
    registry.set_alias("qa", "champion", 1)
    registry.set_alias("qa", "challenger", 3)


def served_version(gateway: RegistryGateway, model: str = "qa") -> str:
    return gateway.chat(model).headers.get("x-genai-model-version", "")


@contextmanager
def mlflow_gateway(settings: Settings) -> Iterator[RegistryGateway]:
    """The gateway exactly as ``create_app`` builds it from settings (its own watcher on the URI)."""
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        wait_for(lambda: http.get("/readyz").status_code == 200, timeout=60, what="readiness")
        yield RegistryGateway(server.url, SnapshotSource(), http)


@pytest.fixture
def sqlite_registry(tmp_path: Path, echo_upstream: EchoUpstream) -> tuple[str, Settings]:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    register_qa(ModelRegistry(uri, str(tmp_path / "mlartifacts")), echo_upstream.url)
    settings = gateway_settings(tmp_path / "home", echo_upstream.url).model_copy(
        update={"mlflow_tracking_uri": uri, "registry": RegistrySettings(poll_seconds=POLL_SECONDS)}
    )
    return uri, settings


def test_mlflow_registry_resolves_the_three_reference_forms(
    sqlite_registry: tuple[str, Settings], echo_upstream: EchoUpstream
) -> None:
    _, settings = sqlite_registry
    with mlflow_gateway(settings) as gateway:
        assert served_version(gateway, "qa") == "qa/1"
        assert echo_upstream.last()["body"]["model"] == "echo-v1"
        assert served_version(gateway, "qa@challenger") == "qa/3"
        assert served_version(gateway, "qa/2") == "qa/2"
        assert echo_upstream.last()["body"]["model"] == "echo-v2"
        listed = {m["id"]: m for m in gateway.http.get("/v1/models").json()["data"]}
        assert listed["qa"]["aliases"] == {"champion": 1, "challenger": 3}


def test_alias_moved_with_mlflow_client_is_served_within_10_s(sqlite_registry: tuple[str, Settings]) -> None:
    from mlflow import MlflowClient

    uri, settings = sqlite_registry
    with mlflow_gateway(settings) as gateway:
        assert served_version(gateway) == "qa/1"
        moved = time.monotonic()
        MlflowClient(tracking_uri=uri, registry_uri=uri).set_registered_model_alias("qa", "champion", "2")
        wait_for(lambda: served_version(gateway) == "qa/2", timeout=10, what="the new champion")
        took = time.monotonic() - moved
        assert took < 10, took
        # And no restart was needed: the gateway kept serving the whole time.
        assert gateway.http.get("/readyz").status_code == 200


def test_fault_mlflow_server_killed_keeps_the_last_routes(
    tmp_path: Path, echo_upstream: EchoUpstream
) -> None:
    from genai.orchestration.services import start_mlflow_server, stop_process

    port = free_port()
    server_settings = Settings(
        home=tmp_path / "mlflow-home", registry=RegistrySettings(ui_host="127.0.0.1", ui_port=port)
    )
    process = start_mlflow_server(server_settings, tmp_path / "mlflow.log", timeout=120)
    try:
        uri = f"http://127.0.0.1:{port}"
        register_qa(ModelRegistry(uri), echo_upstream.url)
        settings = gateway_settings(tmp_path / "home", echo_upstream.url).model_copy(
            update={"mlflow_tracking_uri": uri, "registry": RegistrySettings(poll_seconds=POLL_SECONDS)}
        )
        with mlflow_gateway(settings) as gateway:
            assert served_version(gateway) == "qa/1"
            os.killpg(process.pid, signal.SIGKILL)  # the tracking server dies, not politely
            process.wait(timeout=30)

            def down() -> bool:
                registry = gateway.http.get("/readyz").json()["router"]["registry"]
                return bool(registry["state"] == "down")

            wait_for(down, timeout=60, what="the watcher seeing the dead server")
            for model, version in (("qa", "qa/1"), ("qa@challenger", "qa/3"), ("qa/2", "qa/2")):
                answer = gateway.chat(model)
                assert answer.status_code == 200, answer.text
                assert answer.headers["x-genai-model-version"] == version
            assert gateway.registry_up() == 0
    finally:
        stop_process(process)
