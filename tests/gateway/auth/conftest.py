"""Fixtures of the authentication tests: settings with authentication on, a real gateway over HTTP in
front of the echo upstream with the ``auth`` policy first in its chain, and the local OIDC issuer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genai.settings import Settings
from tests.fixtures.gateway import ServerThread, gateway_settings
from tests.gateway.auth.issuer import AUDIENCE, Issuer, serve_issuer

POLICIES = ["auth", "metrics", "access_log"]


def auth_settings(home: Path, upstream_url: str, database_url: str | None = None, **auth: Any) -> Settings:
    """Settings routing ``tiny-chat`` to the echo upstream, the ``auth`` policy in the chain and
    ``auth`` (enabled unless said otherwise) with ``auth``'s fields."""
    base = gateway_settings(home, upstream_url, policies=POLICIES)
    fields: dict[str, Any] = {"gateway": base.gateway, "auth": {"enabled": True, **auth}}
    if database_url is not None:
        fields["database_url"] = database_url
    return Settings(home=home, **fields)


def oidc_settings(issuer: Issuer, **overrides: Any) -> dict[str, Any]:
    return {"issuer": issuer.issuer, "audience": AUDIENCE, **overrides}


def serve(settings: Settings) -> ServerThread:
    from gateway.app import create_app

    return ServerThread(create_app(settings), settings=settings.gateway)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    state, server = serve_issuer()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
