"""The request-policy chain (``base``), the usage record its sinks receive (``usage``), and the policies
the settings can name in ``gateway.policies``, one module each.

A policy's module is imported only when a chain names it, so a policy with heavy dependencies (a
database driver, a Redis client) costs nothing to a gateway that does not use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING

from gateway.policies.base import Call, Policy, PolicyChain
from gateway.policies.usage import UsageRecord, UsageSink

if TYPE_CHECKING:
    from genai.settings import Settings

# Every name ``genai.settings`` accepts in ``gateway.policies``, and where its policy class lives.
POLICIES: dict[str, str] = {
    "context": "gateway.policies.context:ContextPolicy",
    "metrics": "gateway.policies.metrics:MetricsPolicy",
    "access_log": "gateway.policies.access_log:AccessLogPolicy",
    "auth": "gateway.policies.auth:AuthPolicy",
    "limits": "gateway.policies.limits:LimitsPolicy",
    "ledger": "gateway.policies.ledger:LedgerPolicy",
    "audit": "gateway.policies.audit:AuditPolicy",
    "screening": "gateway.policies.screening:ScreeningPolicy",
    "cache": "gateway.policies.cache:CachePolicy",
    "response_format": "gateway.policies.response_format:ResponseFormatPolicy",
    "output_filter": "gateway.policies.output_filter:OutputFilterPolicy",
}


def policy_class(name: str) -> type[Policy]:
    """The policy class ``name`` refers to (its module imported on first use)."""
    module, _, attribute = POLICIES[name].partition(":")
    policy: type[Policy] = getattr(import_module(module), attribute)
    return policy


def build_chain(names: Sequence[str], settings: Settings | None = None) -> PolicyChain:
    """The chain of the named policies, in that order. Each is built by its ``from_settings`` with the
    platform's ``settings`` (``context`` searches its knowledge bases, ``auth`` reads the keys...);
    without them a policy reads the process settings or runs on its defaults."""
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown gateway policies: {unknown}; known: {sorted(POLICIES)}")
    return PolicyChain([policy_class(name).from_settings(settings) for name in names])


__all__ = [
    "POLICIES",
    "Call",
    "Policy",
    "PolicyChain",
    "UsageRecord",
    "UsageSink",
    "build_chain",
    "policy_class",
]
