"""The MLflow server `genai up` starts (``start_mlflow_server``): its UI and REST API over the platform's
store, and the registry used through it as a tracking server, as a production deployment would."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from genai.orchestration.services import start_mlflow_server, stop_process
from genai.settings import Settings
from registry.client import ModelRegistry
from registry.refs import parse_ref
from tests.registry.mlflow_template import copy_store
from tests.registry.specs import extractive_spec, vllm_spec


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_mlflow_server_serves_the_platform_store_and_the_registry_works_through_it(
    tmp_path: Path, migrated_mlflow_db: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    copy_store(migrated_mlflow_db, tmp_path / "home" / "mlflow.db")
    local = ModelRegistry.from_settings(settings)
    local.register("qa", extractive_spec())  # written straight to the store, before the server runs
    port = free_port()
    ui = settings.registry.model_copy(update={"ui_port": port})
    settings = settings.model_copy(update={"registry": ui})
    server = start_mlflow_server(settings, tmp_path / "mlflow.log")
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health").status_code == 200
        assert httpx.get(base).status_code == 200  # the UI's page
        remote = ModelRegistry(base)
        assert list(remote.snapshot().models) == ["qa"]
        entry = remote.register("qa", vllm_spec())  # a registration run and a version over REST
        remote.promote("qa", entry.version)
        # The store the server writes is the one the platform's own registry reads.
        assert local.snapshot().resolve(parse_ref("qa")).spec == entry.spec
        assert remote.resolve("qa/1").spec.kind == "extractive"
    finally:
        stop_process(server)
    assert server.returncode is not None
    assert (settings.home / "mlartifacts").is_dir()
