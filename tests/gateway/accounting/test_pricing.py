"""price_of and estimate_cost: registry entry first, then the settings' price table; None when unpriced."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.accounting.pricing import estimate_cost, price_of, resolve_rate
from gateway.policies.usage import UsageRecord
from genai.settings.accounting import AccountingSettings
from registry.spec import PriceEntry

SETTINGS = AccountingSettings.model_validate(
    {
        "price_table_version": "2026-12",
        "prices": {
            "gpt-x": {"input_per_1m": 1.0, "output_per_1m": 4.0},
            "tiny": {"per_gpu_second": 0.5},
        },
    }
)


def _record(model: str, **fields: Any) -> UsageRecord:
    base: dict[str, Any] = {"status": 200, "attempts": 1, "prompt_tokens": 1000, "completion_tokens": 500}
    base.update(fields)
    return UsageRecord(
        request_id="r1", method="POST", path="/v1/chat/completions", latency_seconds=2.0, model=model, **base
    )


def test_settings_price_per_million_tokens() -> None:
    cost, version = price_of(_record("gpt-x"), SETTINGS)
    assert cost == pytest.approx((1000 * 1.0 + 500 * 4.0) / 1e6)
    assert version == "2026-12"


def test_registry_entry_wins_over_settings() -> None:
    entry = PriceEntry(input_per_1m=10.0, output_per_1m=20.0, table_version="vendor-2026")
    cost, version = price_of(_record("gpt-x", price=entry), SETTINGS)
    assert cost == pytest.approx((1000 * 10 + 500 * 20) / 1e6)
    assert version == "vendor-2026"


def test_blank_registry_entry_falls_back_to_settings() -> None:
    cost, version = price_of(_record("gpt-x", price=PriceEntry()), SETTINGS)
    assert version == "2026-12" and cost == pytest.approx(0.003)


def test_settings_price_by_registered_name() -> None:
    rate = resolve_rate("gpt-x@prod", None, SETTINGS, model_version="gpt-x/3")
    assert rate is not None and rate.source == "settings"


def test_unpriced_model_is_none_never_zero() -> None:
    assert price_of(_record("nobody-priced-me"), SETTINGS) == (None, None)
    assert price_of(_record("nobody", price=PriceEntry()), SETTINGS) == (None, None)


def test_priced_but_usage_unknown_is_none() -> None:
    record = _record("gpt-x", prompt_tokens=None, completion_tokens=None)
    assert price_of(record, SETTINGS) == (None, "2026-12")


def test_never_reached_upstream_or_cache_hit_costs_zero() -> None:
    assert price_of(_record("gpt-x", attempts=0, status=429), SETTINGS) == (0.0, "2026-12")
    assert price_of(_record("gpt-x", cache_hit=True), SETTINGS) == (0.0, "2026-12")


def test_gpu_second_price_charges_wall_time() -> None:
    cost, _ = price_of(_record("tiny"), SETTINGS)
    assert cost == pytest.approx(0.5 * 2.0)


def test_estimate_cost() -> None:
    rate = resolve_rate("gpt-x", None, SETTINGS)
    assert estimate_cost(rate, 1000, 500) == pytest.approx(0.003)
    assert estimate_cost(rate, 0, None) == pytest.approx(1024 * 4.0 / 1e6)
    assert estimate_cost(None, 10, 10) is None
    assert estimate_cost(PriceEntry(input_per_1m=2.0), 500_000, 0) == pytest.approx(1.0)
