"""The request-policy chain (``base``), the usage record its sinks receive (``usage``), and the policies
the settings can name in ``gateway.policies``, one module each."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.policies.access_log import AccessLogPolicy
from gateway.policies.base import Call, Policy, PolicyChain
from gateway.policies.metrics import MetricsPolicy
from gateway.policies.usage import UsageRecord, UsageSink

# Every name ``genai.settings`` accepts in ``gateway.policies``, and the policy it builds.
POLICIES: dict[str, type[Policy]] = {policy.name: policy for policy in (MetricsPolicy, AccessLogPolicy)}


def build_chain(names: Sequence[str]) -> PolicyChain:
    """The chain of the named policies, in that order."""
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown gateway policies: {unknown}; known: {sorted(POLICIES)}")
    return PolicyChain([POLICIES[name]() for name in names])


__all__ = ["POLICIES", "Call", "Policy", "PolicyChain", "UsageRecord", "UsageSink", "build_chain"]
