"""Settings of the gateway's rate limits and budgets.

Requests and tokens per minute are counted per API key (by its tier) and per tenant (when the tenant sets
a limit of its own, ``tenants``). With ``redis_url`` set, every replica counts in Redis with one atomic
script per request, so all of them share one exact limit; without it (or while Redis is unreachable) each
replica counts in process. Budgets are spend per period, reserved before a call from an estimate and
settled after it from the usage.

Example (genai.yaml)::

    limits:
      tiers:
        default: {requests_per_minute: 100, tokens_per_minute: 100000}
        premium: {requests_per_minute: 1000, tokens_per_minute: 1000000}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from genai.settings.section import SettingsSection


class TierLimits(SettingsSection):
    """What one key of a tier may use per minute."""

    requests_per_minute: int = Field(100, ge=1)
    tokens_per_minute: int | None = Field(100_000, ge=1, description="None: no token limit.")


def _default_tiers() -> dict[str, TierLimits]:
    return {
        "default": TierLimits(requests_per_minute=100, tokens_per_minute=100_000),
        "premium": TierLimits(requests_per_minute=1000, tokens_per_minute=1_000_000),
    }


class LimitsSettings(SettingsSection):
    """Rate limits and budgets."""

    enabled: bool = True
    backend: Literal["auto", "redis", "memory"] = Field(
        "auto", description="auto: Redis when redis_url is set, else in process."
    )
    tiers: dict[str, TierLimits] = Field(default_factory=_default_tiers)
    budget_period: Literal["day", "month"] = "month"
    redis_prefix: str = "genai:"
    redis_timeout_seconds: float = Field(0.05, gt=0, description="Longer than this, Redis counts as down.")
    redis_retry_seconds: float = Field(5.0, gt=0, description="After a Redis failure, try again after this.")
