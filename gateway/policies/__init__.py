"""The request-policy chain (``base``), the usage record its sinks receive (``usage``), and the policies
the settings can name in ``gateway.policies``, one module each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.policies.access_log import AccessLogPolicy
from gateway.policies.base import Call, Policy, PolicyChain
from gateway.policies.context import ContextPolicy
from gateway.policies.metrics import MetricsPolicy
from gateway.policies.usage import UsageRecord, UsageSink

if TYPE_CHECKING:
    from genai.settings import Settings

# Every name ``genai.settings`` accepts in ``gateway.policies``, and the policy it builds.
POLICIES: dict[str, type[Policy]] = {
    policy.name: policy for policy in (ContextPolicy, MetricsPolicy, AccessLogPolicy)
}


def build_chain(names: Sequence[str], settings: Settings | None = None) -> PolicyChain:
    """The chain of the named policies, in that order. ``settings`` reach the policies that need the
    platform's (``context`` searches its knowledge bases; without them it reads the process settings)."""
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown gateway policies: {unknown}; known: {sorted(POLICIES)}")
    return PolicyChain([_build(POLICIES[name], settings) for name in names])


def _build(policy: type[Policy], settings: Settings | None) -> Policy:
    if policy is ContextPolicy:
        return ContextPolicy(settings)
    return policy()


__all__ = [
    "POLICIES",
    "Call",
    "ContextPolicy",
    "Policy",
    "PolicyChain",
    "UsageRecord",
    "UsageSink",
    "build_chain",
]
