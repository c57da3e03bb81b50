"""What one request cost: its price looked up, then applied to its tokens (and GPU time).

Where a price comes from, first match wins:

1. the registered version's own price entry (``UsageRecord.price``, the registry's ``PriceEntry``),
   unless it is the blank default (every rate 0 and table version ``manual``: nobody priced it);
2. ``accounting.prices[model]`` in the settings, for the name the client asked for, then for the
   registered model's name (``NAME`` of ``NAME/N``); its version is ``accounting.price_table_version``.

An unpriced model costs ``None``, never a silent 0. A priced request that never reached an upstream (a
401, a 429, a cache hit) costs 0.0; one that reached an upstream but whose usage is unknown costs None.
Cached prompt tokens are charged as input (the price table has no cached rate). A per-GPU-second price
is charged for the request's wall time (``latency_seconds``) on top of the token rates: an upper bound
when the worker batches several requests at once.

``estimate_cost`` is what a budget reserves before the call: prompt tokens plus ``max_tokens`` (or a
default cap) at the token rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from gateway.policies.usage import UsageRecord
    from genai.settings.accounting import AccountingSettings

# Completion tokens a budget reserves for a request that sets no max_tokens.
DEFAULT_ESTIMATE_COMPLETION_TOKENS = 1024
_BLANK_TABLE_VERSION = "manual"  # registry.spec.PriceEntry's default: an entry nobody filled in


class Rates(Protocol):
    """Token (and GPU-second) rates: a registry ``PriceEntry``, a settings ``ModelPrice``, a ``ModelRate``."""

    @property
    def input_per_1m(self) -> float: ...

    @property
    def output_per_1m(self) -> float: ...

    @property
    def per_gpu_second(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class ModelRate:
    """A resolved price: the rates, the table version they come from, and which source matched."""

    input_per_1m: float
    output_per_1m: float
    per_gpu_second: float | None
    version: str
    source: Literal["registry", "settings"]

    def token_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1_000_000


def _is_blank(entry: object) -> bool:
    return (
        not getattr(entry, "input_per_1m", 0.0)
        and not getattr(entry, "output_per_1m", 0.0)
        and getattr(entry, "per_gpu_second", None) is None
        and getattr(entry, "table_version", _BLANK_TABLE_VERSION) == _BLANK_TABLE_VERSION
    )


def resolve_rate(
    model: str | None,
    entry: object | None,
    settings: AccountingSettings,
    model_version: str | None = None,
) -> ModelRate | None:
    """The rate for a request to ``model`` (served by ``model_version``, with the version's price
    ``entry`` if the registry has one), or None when nothing prices it. Budgets call this before the
    request; ``price_of`` after it."""
    if entry is not None and not _is_blank(entry):
        return ModelRate(
            input_per_1m=float(getattr(entry, "input_per_1m", 0.0)),
            output_per_1m=float(getattr(entry, "output_per_1m", 0.0)),
            per_gpu_second=getattr(entry, "per_gpu_second", None),
            version=str(getattr(entry, "table_version", _BLANK_TABLE_VERSION)),
            source="registry",
        )
    names = [model] if model else []
    if model_version:
        names.append(model_version.rpartition("/")[0] or model_version)
    for name in names:
        price = settings.prices.get(name)
        if price is not None:
            return ModelRate(
                input_per_1m=price.input_per_1m,
                output_per_1m=price.output_per_1m,
                per_gpu_second=price.per_gpu_second,
                version=settings.price_table_version,
                source="settings",
            )
    return None


def price_of(record: UsageRecord, settings: AccountingSettings) -> tuple[float | None, str | None]:
    """``record``'s cost in USD and the price table version it was priced from; ``(None, None)`` for an
    unpriced model, ``(None, version)`` for a priced one whose usage the upstream never reported."""
    rate = resolve_rate(record.model, record.price, settings, record.model_version)
    if rate is None:
        return None, None
    if record.cache_hit or record.attempts == 0:
        return 0.0, rate.version  # nothing was asked of an upstream
    if record.prompt_tokens is None and record.completion_tokens is None:
        return None, rate.version
    cost = rate.token_cost(record.prompt_tokens or 0, record.completion_tokens or 0)
    if rate.per_gpu_second:
        cost += rate.per_gpu_second * record.latency_seconds
    return cost, rate.version


def saved_cost_of(record: UsageRecord, settings: AccountingSettings) -> float | None:
    """What a cache hit did not spend: its cached answer's tokens at today's token rates (GPU time left
    out); None for a miss, an unpriced model or a hit whose original usage is unknown."""
    if not record.cache_hit:
        return None
    if record.saved_prompt_tokens is None and record.saved_completion_tokens is None:
        return None
    rate = resolve_rate(record.model, record.price, settings, record.model_version)
    if rate is None:
        return None
    return rate.token_cost(record.saved_prompt_tokens or 0, record.saved_completion_tokens or 0)


def estimate_cost(price: Rates | None, prompt_tokens: int, max_tokens: int | None) -> float | None:
    """The most a request should cost at ``price``'s token rates: its prompt tokens plus ``max_tokens``
    completion tokens (``DEFAULT_ESTIMATE_COMPLETION_TOKENS`` when the request sets none). None for an
    unpriced model. GPU-second prices are left out: the time is not known before the call."""
    if price is None:
        return None
    completion = DEFAULT_ESTIMATE_COMPLETION_TOKENS if max_tokens is None else max(0, max_tokens)
    return (max(0, prompt_tokens) * price.input_per_1m + completion * price.output_per_1m) / 1_000_000
