"""What one request counts against, and what a check answered: the shared language of both limiters.

A ``Plan`` lists the request's rate limits (a sliding window of one minute each: requests, or tokens,
per key or per tenant) and its budgets (spend per period, in nano-USD so that Redis counts exact
integers). Both limiters (``memory`` and ``redis_backend``) take a plan and answer a ``Decision``: all
limits are checked and, only when every one of them fits, all are counted, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["key", "tenant"]
Kind = Literal["requests", "tokens"]
NANO = 1_000_000_000  # nano-USD per USD: budgets are counted in integers
WINDOW_MS = 60_000  # the rate limits are per minute
NEVER = -1  # a retry time meaning the request can never fit (larger than the limit itself)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One sliding-window limit: at most ``limit`` units in any window; this request weighs ``weight``."""

    scope: Scope
    kind: Kind
    key: str  # storage key (the Redis keys derive from it; the memory limiter's dict key)
    limit: int
    weight: int
    label: str = ""  # who is limited, for messages: "key gk_ab12" or "tenant acme"


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """Spend of one key or tenant in the current period: ``estimate`` is reserved before the call."""

    scope: Scope
    key: str  # names the period, so a new period starts from 0
    budget: int  # nano-USD
    estimate: int  # nano-USD
    ttl_ms: int  # how long the counter is kept (past the period's end)
    resets_in_s: float  # seconds until the period ends
    label: str = ""


@dataclass(slots=True)
class Plan:
    """Every limit of one request. ``nonce`` names its entries (unique per request, made by the gateway)."""

    nonce: str
    rates: tuple[RateLimit, ...]
    budgets: tuple[BudgetLimit, ...]

    @property
    def needs_settling(self) -> bool:
        """Whether the actual usage changes anything: token limits and budgets count estimates first."""
        return bool(self.budgets) or any(rate.kind == "tokens" for rate in self.rates)


@dataclass(frozen=True, slots=True)
class RateState:
    """One rate limit after the check."""

    used: int  # counted in the window (this request included when it was allowed)
    reset_ms: int  # until the oldest counted entry leaves the window (0: nothing counted)
    retry_ms: int  # 0 when the request fits; else until it would fit; NEVER if it cannot


@dataclass(slots=True)
class Decision:
    """What a check answered. ``spent`` is each budget's spend after the check (reservations included)."""

    allowed: bool
    rates: list[RateState]
    spent: list[int]
    over_budget: list[bool]
    backend: Literal["redis", "memory"] = "memory"
    handle: object = None  # the memory limiter's own entries, for settling


@dataclass(slots=True)
class Settlement:
    """Actual usage in place of the estimates: new weights of the token limits, spend deltas of budgets."""

    tokens: list[tuple[RateLimit, int]] = field(default_factory=list)  # (limit, actual weight)
    budgets: list[tuple[BudgetLimit, int]] = field(default_factory=list)  # (budget, actual - estimate)

    def __bool__(self) -> bool:
        return any(rate.weight != new for rate, new in self.tokens) or any(d for _, d in self.budgets)
