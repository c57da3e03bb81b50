"""A gateway with the limits policy in front of the echo upstream, and who calls it.

``HeaderPrincipalForTests`` is a test double of the authentication policy: its ``authenticate`` hook (the
real one the middleware runs) reads the principal from an ``x-test-principal`` header, so the limits
tests name their caller's tenant, key, tier and budget without API keys in a database. A request without
the header is the anonymous principal, as with authentication switched off. ``ScreeningForTests`` stands
in for a policy after the limits that refuses a request before any upstream is asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import orjson

from gateway.errors import InvalidRequest
from gateway.limits.plan import WINDOW_MS
from gateway.policies import Call, Policy, PolicyChain
from gateway.policies.limits import LimitsPolicy
from gateway.principal import Principal
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, ServerThread, gateway_settings

PRINCIPAL_HEADER = "x-test-principal"
HELLO: list[dict[str, str]] = [{"role": "user", "content": "hello big world"}]  # 3 prompt tokens upstream
ANSWER_TOKENS = 4  # the echo upstream answers "echo: hello big world"


class HeaderPrincipalForTests(Policy):
    """Test double of the auth policy: the principal is the JSON of the ``x-test-principal`` header."""

    name: ClassVar[str] = "test_principal"

    async def authenticate(self, headers: Sequence[tuple[bytes, bytes]], path: str) -> Principal | None:
        for name, value in headers:
            if name == PRINCIPAL_HEADER.encode():
                fields = orjson.loads(value)
                return Principal(
                    tenant=fields["tenant"],
                    tier=fields.get("tier", "default"),
                    key_prefix=fields.get("key"),
                    subject=fields.get("sub"),
                    budget_usd=fields.get("budget"),
                )
        return None


class ScreeningForTests(Policy):
    """Test double of an input-screening policy after the limits: refuses the user ``blocked`` with a 400
    before any upstream is asked."""

    name: ClassVar[str] = "test_screening"

    async def before(self, call: Call) -> None:
        if call.body.get("user") == "blocked":
            raise InvalidRequest("blocked by the screening double", param="user")


def caller(tenant: str, key: str | None = None, **fields: Any) -> dict[str, str]:
    """Headers that make the request come from ``key`` of ``tenant`` (``tier``, ``budget``, ``sub``)."""
    return {PRINCIPAL_HEADER: orjson.dumps({"tenant": tenant, "key": key, **fields}).decode()}


def chat(max_tokens: int | None = ANSWER_TOKENS, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": CHAT_MODEL, "messages": HELLO, **fields}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def limits_settings(home: Path, upstream_url: str, **sections: Any) -> Settings:
    """The echo gateway's settings with ``limits``, ``tenants``, ``accounting``, ``redis_url`` given."""
    base = gateway_settings(home, upstream_url)
    return Settings.model_validate({"home": home, "gateway": base.gateway.model_dump(), **sections})


@contextmanager
def limited_gateway(settings: Settings, window_ms: int = WINDOW_MS) -> Iterator[tuple[str, LimitsPolicy]]:
    """The gateway with the principal double and the limits policy, served over HTTP: (url, policy)."""
    from gateway.app import create_app

    policy = LimitsPolicy(settings, window_ms=window_ms)
    chain = PolicyChain([HeaderPrincipalForTests(), policy, ScreeningForTests()])
    with ServerThread(create_app(settings, chain=chain)) as server:
        yield server.url, policy
