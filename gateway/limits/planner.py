"""Which limits one request counts against, from the caller's principal and the settings: a ``Plan``.

* A key (or an OIDC subject) counts against its tier's limits (``limits.tiers[principal.tier]``, the
  ``default`` tier for a tier the settings do not name): requests and tokens per minute, and against its
  own budget (``Principal.budget_usd``). The anonymous principal (authentication off) has no key: no key
  limits.
* A tenant counts against its own limits and budget only where ``tenants[T]`` sets them
  (``requests_per_minute``, ``tokens_per_minute``, ``budget_usd``), the ``anonymous`` tenant included.

Tokens are reserved at the estimate (``estimate``); a request that set no ``max_tokens`` reserves at most
the whole limit, so it is never refused as too large by a default it did not choose. Budgets reserve the
estimate's cost at the model's price (``gateway.accounting.pricing``); an unpriced model has no cost to
count, so budgets do not hold it back. Every key of a request names its tenant in braces, the one hash
slot a Redis Cluster needs for the script to touch them all.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.accounting.pricing import estimate_cost, resolve_rate
from gateway.limits.estimate import completion_tokens, prompt_tokens
from gateway.limits.plan import NANO, BudgetLimit, Kind, Plan, RateLimit, Scope

if TYPE_CHECKING:
    from gateway.policies.base import Call
    from gateway.principal import Principal
    from genai.settings.accounting import AccountingSettings
    from genai.settings.limits import LimitsSettings
    from genai.settings.tenants import TenantSettings

BUDGET_KEPT_S = 86_400  # a period's counter outlives the period by a day (a late settlement still lands)


def period(kind: str, now: datetime) -> tuple[str, datetime]:
    """The budget period ``now`` falls in (``day`` or ``month``, UTC): its id and its end."""
    if kind == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start + timedelta(days=1)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), end


class Planner:
    """Builds each request's plan from the limits, tenants and price settings."""

    def __init__(
        self, limits: LimitsSettings, tenants: dict[str, TenantSettings], accounting: AccountingSettings
    ) -> None:
        self.limits, self.tenants, self.accounting = limits, tenants, accounting
        self.prefix = limits.redis_prefix

    def plan(self, call: Call, principal: Principal) -> Plan | None:
        """The request's limits, or None when none applies."""
        rates: list[tuple[Scope, Kind, str, str, int]] = []  # scope, kind, ident, label, limit
        tenant = principal.tenant
        ident, label = _key_of(principal)
        tier = self.limits.tiers.get(principal.tier) or self.limits.tiers.get("default")
        if ident is not None and tier is not None:
            rates.append(("key", "requests", ident, label, tier.requests_per_minute))
            if tier.tokens_per_minute is not None:
                rates.append(("key", "tokens", ident, label, tier.tokens_per_minute))
        own = self.tenants.get(tenant)
        if own is not None:
            if own.requests_per_minute is not None:
                rates.append(("tenant", "requests", "tenant", f"tenant {tenant}", own.requests_per_minute))
            if own.tokens_per_minute is not None:
                rates.append(("tenant", "tokens", "tenant", f"tenant {tenant}", own.tokens_per_minute))
        key_budget = principal.budget_usd if ident is not None else None
        tenant_budget = own.budget_usd if own is not None else None
        if not rates and key_budget is None and tenant_budget is None:
            return None
        prompt = prompt_tokens(call.endpoint, call.body)
        completion, explicit = completion_tokens(call.endpoint, call.body)
        estimate = prompt + completion
        limits = tuple(
            RateLimit(
                scope=scope,
                kind=kind,
                key=f"{self.prefix}rl:{{{tenant}}}:{ident_}:{kind[0]}",
                limit=limit,
                weight=1 if kind == "requests" else (estimate if explicit else min(estimate, limit)),
                label=label_,
            )
            for scope, kind, ident_, label_, limit in rates
        )
        budgets: list[BudgetLimit] = []
        if key_budget is not None or tenant_budget is not None:
            cost = self._estimate_cost(call, prompt, completion)
            if cost is not None:
                if key_budget is not None and ident is not None:
                    budgets.append(self._budget("key", tenant, ident, label, key_budget, cost))
                if tenant_budget is not None:
                    label = f"tenant {tenant}"
                    budgets.append(self._budget("tenant", tenant, "tenant", label, tenant_budget, cost))
        if not limits and not budgets:
            return None
        return Plan(os.urandom(8).hex(), limits, tuple(budgets))

    def _estimate_cost(self, call: Call, prompt: int, completion: int) -> float | None:
        ctx = call.ctx
        entry = ctx.version.spec.price if ctx.version is not None else None
        rate = resolve_rate(ctx.model, entry, self.accounting, ctx.model_version)
        return estimate_cost(rate, prompt, completion)

    def _budget(
        self, scope: Scope, tenant: str, ident: str, label: str, usd: float, cost: float
    ) -> BudgetLimit:
        now = datetime.now(UTC)
        name, end = period(self.limits.budget_period, now)
        resets_in = (end - now).total_seconds()
        return BudgetLimit(
            scope=scope,
            key=f"{self.prefix}budget:{{{tenant}}}:{ident}:{name}",
            budget=math.floor(usd * NANO),
            estimate=math.ceil(cost * NANO),
            ttl_ms=int((resets_in + BUDGET_KEPT_S) * 1000),
            resets_in_s=resets_in,
            label=label,
        )


def _key_of(principal: Principal) -> tuple[str | None, str]:
    """The caller's key for key limits (its API key's prefix, else its token subject), and its label."""
    if principal.key_prefix:
        return f"key:{principal.key_prefix}", f"key {principal.key_prefix}"
    if principal.subject:
        return f"sub:{principal.subject}", f"subject {principal.subject}"
    return None, f"tenant {principal.tenant}"
