"""The limits behind the real authentication policy, both named in ``gateway.policies``: API keys from
the key database carry their tier and budget to the limits (no test double in between)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from gateway.limits.estimate import prompt_tokens
from genai.accesskeys import create_key
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, EchoUpstream, ServerThread, gateway_settings
from tests.gateway.limits.gateway_fixtures import ANSWER_TOKENS, HELLO, chat

PATH = "/v1/chat/completions"


def test_api_keys_are_limited_by_their_tier_and_budget(tmp_path: Path, echo_upstream: EchoUpstream) -> None:
    from gateway.app import create_app

    base = gateway_settings(tmp_path, echo_upstream.url)
    gateway = base.gateway.model_copy(update={"policies": ["auth", "limits"]})
    settings = Settings(
        home=tmp_path,
        gateway=gateway,
        auth={"enabled": True},
        limits={
            "backend": "memory",
            "tiers": {
                "default": {"requests_per_minute": 2, "tokens_per_minute": None},
                "premium": {"requests_per_minute": 4, "tokens_per_minute": None},
            },
        },
        accounting={"prices": {CHAT_MODEL: {"input_per_1m": 1_000_000, "output_per_1m": 1_000_000}}},
    )
    default = create_key(settings, "acme").key
    premium = create_key(settings, "acme", tier="premium").key
    thrifty = create_key(settings, "acme", tier="premium", budget_usd=25.0).key
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=30) as http:

        def codes(key: str, n: int) -> list[int]:
            headers = {"Authorization": f"Bearer {key}"}
            out = []
            for _ in range(n):
                out.append(http.post(PATH, json=chat(), headers=headers).status_code)
                time.sleep(0.05)
            return out

        assert codes(default, 3) == [200, 200, 429]
        assert codes(premium, 5) == [200] * 4 + [429]
        # 7 USD a request, 16 reserved at its estimate: 0 + 16 and 7 + 16 fit in 25 USD, 14 + 16 does not.
        assert prompt_tokens("chat", {"messages": HELLO}) + ANSWER_TOKENS == 16
        assert codes(thrifty, 3) == [200, 200, 429]
        refused = http.post(PATH, json=chat(), headers={"Authorization": f"Bearer {thrifty}"})
        assert refused.json()["error"]["code"] == "budget_exceeded"
        # Without a key, the auth policy answers 401 before the limits are asked.
        assert http.post(PATH, json=chat()).status_code == 401
