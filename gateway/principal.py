"""Who is calling: the principal a credential (an API key or an OIDC token) resolves to.

The authentication policy sets it on the request's exchange before anything else runs; the rate limits,
budgets, the usage ledger and the audit log read it from there. With authentication switched off every
request is the ``anonymous`` principal of the ``anonymous`` tenant.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: its tenant and tier, the key or token it came with, and what that credential allows."""

    tenant: str
    tier: str = "default"
    key_prefix: str | None = None  # the API key's display prefix (never the key)
    subject: str | None = None  # the OIDC token's `sub`
    models: frozenset[str] | None = None  # model names the credential may use; None: any
    budget_usd: float | None = None  # the key's own spend limit per budget period

    @property
    def actor(self) -> str:
        """How the audit log names the caller: the key prefix, else the token subject."""
        return self.key_prefix or (f"sub:{self.subject}" if self.subject else "anonymous")

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


ANONYMOUS = Principal(tenant="anonymous", tier="default")
