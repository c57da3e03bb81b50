"""A real gateway with authentication, the ledger and the audit log on, in front of the echo upstream."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, ServerThread
from tests.gateway.accounting.private_postgres import private_postgres

__all__ = ["private_postgres"]  # the fixture, for this package's tests

CONTENT_KEY = Fernet.generate_key().decode()
PRICES = {CHAT_MODEL: {"input_per_1m": 2.0, "output_per_1m": 8.0}}


def accounting_settings(
    home: Path, database_url: str, echo_url: str, *, policies: list[str] | None = None, **accounting: Any
) -> Settings:
    """Settings of a gateway that authenticates keys and keeps the ledger and the audit log at
    ``database_url``; tenant ``secret`` has its prompts and answers stored (encrypted)."""
    options: dict[str, Any] = {
        "flush_seconds": 0.05,
        "replay_seconds": 0.2,
        "price_table_version": "test-1",
        "prices": PRICES,
        "content_key": CONTENT_KEY,
    }
    options.update(accounting)
    gateway = {
        "retry": {"attempts": 2, "base_delay": 0.01, "max_delay": 0.02},
        "upstreams": {"echo": {"kind": "openai", "workers": [echo_url], "vllm_metrics": False}},
        "models": {CHAT_MODEL: {"targets": [{"upstream": "echo", "model": "echo-1"}]}},
        "policies": policies or ["auth", "metrics", "ledger", "audit"],
    }
    return Settings(
        home=home,
        database_url=database_url,
        gateway=gateway,
        auth={"enabled": True},
        tenants={"acme": {}, "secret": {"store_content": True}},
        accounting=options,
    )


@contextmanager
def serving(settings: Settings) -> Iterator[ServerThread]:
    """The gateway of ``settings`` over HTTP; leaving it shuts the app down (the ledger flushes)."""
    from gateway.app import create_app

    with ServerThread(create_app(settings)) as server:
        yield server
