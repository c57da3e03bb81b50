"""Fixtures of the registry tests: a real MLflow registry on a SQLite store in the test's own directory
(tests/registry/specs.py has one spec of each kind)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from registry.client import ModelRegistry


@pytest.fixture(scope="session")
def migrated_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow database with MLflow's schema: creating one costs ~1.5 s of migrations here, so
    each test copies this file instead."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    uri = f"sqlite:///{path}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
    return path


@pytest.fixture
def tracking_uri(tmp_path: Path, migrated_mlflow_db: Path) -> str:
    """A SQLite MLflow store of the test's own."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(migrated_mlflow_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def registry(tracking_uri: str, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tracking_uri, str(tmp_path / "mlartifacts"), settings_digest="d" * 64)
