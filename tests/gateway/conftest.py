"""Fixtures of the gateway tests that only they use: the gateway with the policy-chain test doubles."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.policies import PolicyChain, build_chain
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from tests.fixtures.gateway import CHAT_MODEL, EchoUpstream, ServerThread
from tests.fixtures.policy_gateway import (
    BROKEN_CHAT,
    CACHED_CHAT,
    ROUTED_EMBED,
    Budget,
    Cache,
    Ledger,
    PolicyGateway,
    Seen,
    Stamp,
    Watch,
    usage_app,
)


@pytest.fixture(scope="module")
def policy_gateway(
    echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyGateway]:
    from gateway.app import create_app

    seen = Seen()
    doubles = [Budget(seen), Cache(seen), Stamp(seen), Watch(seen), Ledger(seen)]
    chain = PolicyChain([*doubles, *build_chain(["metrics", "access_log"]).policies])
    with ServerThread(usage_app()) as usage_server:
        fast = {"attempts": 2, "base_delay": 0.01, "max_delay": 0.02}
        gateway = GatewaySettings.model_validate(
            {
                "retry": fast,
                "upstreams": {
                    "echo": {"kind": "openai", "workers": [echo_upstream_server.url], "vllm_metrics": False},
                    "usage": {"kind": "openai", "workers": [usage_server.url], "vllm_metrics": False},
                },
                "models": {
                    CHAT_MODEL: {"targets": [{"upstream": "echo", "model": "echo-1"}]},
                    CACHED_CHAT: {"targets": [{"upstream": "usage", "model": "usage-1"}]},
                    ROUTED_EMBED: {"targets": [{"upstream": "usage", "model": "embed-1"}]},
                    BROKEN_CHAT: {"targets": [{"upstream": "usage", "model": "broken-1"}]},
                },
            }
        )
        settings = Settings(home=tmp_path_factory.mktemp("policy-home"), gateway=gateway)
        with ServerThread(create_app(settings, chain=chain)) as server:
            yield PolicyGateway(server.url, seen, usage_server.url)


@pytest.fixture
def http(policy_gateway: PolicyGateway, echo_upstream: EchoUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=policy_gateway.url, timeout=60) as client:
        yield client
