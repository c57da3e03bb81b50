"""Fixtures of the registry tests: a real MLflow registry on a SQLite store in the test's own directory
(tests/registry/specs.py has one spec of each kind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.client import ModelRegistry
from tests.registry.mlflow_template import copy_store, migrated_mlflow_db

__all__ = ["migrated_mlflow_db"]


@pytest.fixture
def tracking_uri(tmp_path: Path, migrated_mlflow_db: Path) -> str:
    """A SQLite MLflow store of the test's own."""
    return copy_store(migrated_mlflow_db, tmp_path / "mlflow.db")


@pytest.fixture
def registry(tracking_uri: str, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tracking_uri, str(tmp_path / "mlartifacts"), settings_digest="d" * 64)
