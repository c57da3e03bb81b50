"""configure_prefect: the environment Prefect reads before it is imported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genai.orchestration.prefect_env import EPHEMERAL_STARTUP_SECONDS, configure_prefect
from genai.settings import Settings

_SET_BY_CONFIGURE = (
    "PREFECT_HOME",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT",
    "GX_ANALYTICS_ENABLED",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_API_URL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
)


@pytest.fixture(autouse=True)
def _restore_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever configure_prefect sets is put back after each test (monkeypatch restores what it saw)."""
    for name in _SET_BY_CONFIGURE:
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)


def test_a_temporary_server_gets_time_for_its_first_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    configure_prefect(Settings(home=tmp_path), quiet=True)
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == str(EPHEMERAL_STARTUP_SECONDS)
    assert EPHEMERAL_STARTUP_SECONDS > 20  # Prefect's own default, which a cold first run outlasted here
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")


def test_a_users_own_startup_timeout_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "7")
    configure_prefect(Settings(home=tmp_path), quiet=True)
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "7"
