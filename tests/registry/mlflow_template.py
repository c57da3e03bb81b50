"""A migrated, empty MLflow database made once per test session: a new SQLite store costs ~1.5 s of
MLflow's migrations here, so each test copies this file instead (tests/registry and tests/cli use it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def migrated_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    uri = f"sqlite:///{path}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
    return path


def copy_store(template: Path, path: Path) -> str:
    """A SQLite MLflow store at ``path`` (a copy of ``template``); its URI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"
