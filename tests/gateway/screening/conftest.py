"""A real gateway with authentication, screening, metrics, the ledger and the audit log on, in front of
the echo upstream (a fake: these tests are about the gateway's own screening, and the echo shows exactly
what the upstream received). One API key per tenant, each tenant screened its own way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from genai.accesskeys import create_key
from genai.db import dispose_engine
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, UPSTREAM_MODEL, EchoUpstream, ServerThread

POLICIES = ["auth", "screening", "metrics", "ledger", "audit"]
TENANTS: dict[str, Any] = {
    "acme": {},  # the platform's default: pii redact, injection flag
    "strict": {"screening": {"pii": "block", "injection": "block"}},
    "loose": {"screening": {"pii": "allow", "injection": "off", "max_prompt_chars": 300}},
    "cards": {"screening": {"pii": "redact", "pii_kinds": ["card"], "injection": "block"}},
}


def screening_settings(home: Path, database_url: str, echo_url: str) -> Settings:
    gateway = {
        "upstreams": {"echo": {"kind": "openai", "workers": [echo_url], "vllm_metrics": False}},
        "models": {CHAT_MODEL: {"targets": [{"upstream": "echo", "model": UPSTREAM_MODEL}]}},
        "policies": POLICIES,
    }
    return Settings(
        home=home,
        database_url=database_url,
        gateway=gateway,
        auth={"enabled": True},
        tenants=TENANTS,
        accounting={"flush_seconds": 0.05, "replay_seconds": 0.2},
    )


@dataclass
class Screened:
    url: str
    settings: Settings
    keys: dict[str, str]  # tenant -> its API key
    client: httpx.Client

    def chat(self, tenant: str, messages: Any, **fields: Any) -> httpx.Response:
        body = {"model": CHAT_MODEL, "messages": messages, **fields}
        return self.client.post("/v1/chat/completions", json=body, headers=self.auth(tenant))

    def complete(self, tenant: str, prompt: Any) -> httpx.Response:
        body = {"model": CHAT_MODEL, "prompt": prompt, "max_tokens": 64}
        return self.client.post("/v1/completions", json=body, headers=self.auth(tenant))

    def auth(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}


@pytest.fixture(scope="module")
def screened(
    echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Screened]:
    from gateway.app import create_app

    home = tmp_path_factory.mktemp("screening")
    url = f"sqlite:///{home / 'genai.db'}"
    settings = screening_settings(home, url, echo_upstream_server.url)
    keys = {tenant: create_key(settings, tenant).key for tenant in TENANTS}
    with (
        ServerThread(create_app(settings), settings=settings.gateway) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield Screened(server.url, settings, keys, client)
    dispose_engine(url)
