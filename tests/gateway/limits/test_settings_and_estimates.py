"""The pieces around the limiters: the policy built from settings (named in gateway.policies), the
token estimate a reservation is made of, budget periods, and OpenAI's duration format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.limits.estimate import completion_tokens, prompt_tokens
from gateway.limits.headers import duration
from gateway.limits.planner import period
from gateway.policies import build_chain
from gateway.policies.limits import LimitsPolicy
from genai.settings import Settings


def test_the_policy_is_named_in_the_chain_and_counts_in_process_without_redis(tmp_path: Path) -> None:
    chain = build_chain(["limits"], Settings(home=tmp_path))
    policy = chain.policies[0]
    assert isinstance(policy, LimitsPolicy) and policy.limiter.redis is None


def test_backend_redis_without_a_redis_url_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="redis_url is not set"):
        LimitsPolicy(Settings(home=tmp_path, limits={"backend": "redis"}))


def test_backend_memory_ignores_a_redis_url(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0", limits={"backend": "memory"})
    assert LimitsPolicy(settings).limiter.redis is None
    assert LimitsPolicy(Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0")).limiter.redis is not None


def test_prompt_estimates() -> None:
    chat = {"messages": [{"role": "user", "content": "x" * 400}]}
    assert 100 < prompt_tokens("chat", chat) < 115  # the content and its JSON
    with_tools = {**chat, "tools": [{"type": "function", "function": {"name": "f" * 400}}]}
    assert prompt_tokens("chat", with_tools) > prompt_tokens("chat", chat) + 100
    assert prompt_tokens("completions", {"prompt": "abcd" * 10}) == 10
    assert prompt_tokens("completions", {"prompt": ["abcd", "abcdefgh"]}) == 3
    assert prompt_tokens("completions", {"prompt": [1, 2, 3, 4, 5]}) == 5
    assert prompt_tokens("embeddings", {"input": [[1, 2], [3]]}) == 3
    assert prompt_tokens("embeddings", {"input": "é" * 8}) == 4  # bytes, not characters
    assert prompt_tokens("completions", {"prompt": ""}) == 1


def test_completion_estimates() -> None:
    assert completion_tokens("chat", {"max_tokens": 50}) == (50, True)
    assert completion_tokens("chat", {"max_completion_tokens": 30, "max_tokens": 50}) == (30, True)
    assert completion_tokens("chat", {"max_tokens": 50, "n": 3}) == (150, True)
    assert completion_tokens("completions", {}) == (1024, False)
    assert completion_tokens("embeddings", {"max_tokens": 9}) == (0, True)


def test_budget_periods_are_utc_calendar_days_and_months() -> None:
    now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert period("day", now) == ("2026-12-31", datetime(2027, 1, 1, tzinfo=UTC))
    assert period("month", now) == ("2026-12", datetime(2027, 1, 1, tzinfo=UTC))
    assert period("month", datetime(2026, 2, 10, tzinfo=UTC))[1] == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0ms"),
        (17, "17ms"),
        (999, "999ms"),
        (1000, "1s"),
        (8640, "8.64s"),
        (60_000, "1m0s"),
        (360_000, "6m0s"),
    ],
)
def test_reset_durations_in_openai_format(ms: int, text: str) -> None:
    assert duration(ms) == text
