"""A real gateway over HTTP with API keys on, for the /v1/files and /v1/batches tests: its database (SQLite
or PostgreSQL), its file store under its home, the Prefect API it starts runs through, and keys per
tenant for the official openai client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from genai.accesskeys import create_key
from genai.settings import Settings
from tests.fixtures.gateway import ServerThread, gateway_settings

POLICIES = ["auth", "metrics", "access_log"]


@dataclass
class BatchGateway:
    url: str
    settings: Settings
    server: ServerThread

    def client(self, tenant: str = "acme") -> openai.OpenAI:
        """The openai client with a new key of ``tenant``."""
        key = create_key(self.settings, tenant).key
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=60)


def batch_settings(
    home: Path, upstream_url: str, database_url: str, prefect_api_url: str, **batch: Any
) -> Settings:
    """Gateway settings (``tiny-chat`` on ``upstream_url``) with API keys, and ``batch``'s fields."""
    base = gateway_settings(home, upstream_url, policies=POLICIES)
    return Settings(
        home=home,
        gateway=base.gateway,
        database_url=database_url,
        auth={"enabled": True},
        prefect={"api_url": prefect_api_url},
        batch=batch,
    )


@contextmanager
def serve_batch_gateway(settings: Settings) -> Iterator[BatchGateway]:
    from gateway.app import create_app

    with ServerThread(create_app(settings), settings=settings.gateway) as server:
        yield BatchGateway(server.url, settings, server)


def batch_line(custom_id: str, content: str = "hello", url: str = "/v1/chat/completions") -> str:
    """One request line of a batch input file (JSON, no newline)."""
    import json

    body: dict[str, Any] = {"model": "tiny-chat", "max_tokens": 8}
    if url == "/v1/chat/completions":
        body["messages"] = [{"role": "user", "content": content}]
    else:
        body["prompt"] = content
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})
