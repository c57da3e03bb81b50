"""The report's numbers against hand-written SQL over the same ledger, on SQLite and on PostgreSQL: the
totals, a breakdown, the previous period, the percentiles, the unpriced models, budgets and GPU shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import bindparam, text

from genai.accesskeys import create_key
from genai.db import get_engine
from genai.db.base import UTCDateTime
from genai.reports.build import build_report
from genai.reports.periods import parse_period
from genai.settings import Settings
from genai.settings.reports import ReportsSettings
from tests.reports.ledger_data import NOV, insert, ledger_row, mixed_rows

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def _hand(url: str, sql: str, start: datetime, end: datetime) -> list[Any]:
    statement = text(sql).bindparams(bindparam("s", type_=UTCDateTime()), bindparam("e", type_=UTCDateTime()))
    with get_engine(url).connect() as connection:
        return list(connection.execute(statement, {"s": start, "e": end}).all())


TOTALS_SQL = """
SELECT COUNT(*), SUM(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END), SUM(cost_usd), SUM(prompt_tokens),
       SUM(completion_tokens), SUM(cached_tokens),
       SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(CASE WHEN status >= 400 THEN cost_usd END),
       SUM(CASE WHEN attempts > 1 OR response_retries > 0 THEN cost_usd END),
       SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END), SUM(saved_tokens), SUM(saved_cost_usd)
FROM usage_records WHERE created_at >= :s AND created_at < :e
"""


@pytest.fixture
def ledger(database_url: str) -> str:
    rows = mixed_rows(3000, NOV - timedelta(days=30), timedelta(days=61))  # October and November
    insert(database_url, rows)
    return database_url


def test_totals_equal_an_independent_query(ledger: str) -> None:
    period = parse_period("2026-11")
    report = build_report(ledger, period, reports=ReportsSettings(), now=NOW)
    [expected] = _hand(ledger, TOTALS_SQL, period.start, period.end)
    t = report.totals
    assert (t.requests, t.unpriced_requests) == (expected[0], expected[1])
    assert t.requests > 1000 and t.unpriced_requests > 0
    assert t.cost_usd == pytest.approx(expected[2], rel=1e-9)
    assert (t.prompt_tokens, t.completion_tokens, t.cached_tokens) == tuple(expected[3:6])
    assert t.errors == expected[6] and t.error_cost_usd == pytest.approx(expected[7], rel=1e-9)
    assert t.retry_cost_usd == pytest.approx(expected[8], rel=1e-9)
    assert (t.cache_hits, t.saved_tokens) == (expected[9], expected[10])
    assert t.saved_cost_usd == pytest.approx(expected[11], rel=1e-9)
    [before] = _hand(ledger, TOTALS_SQL, datetime(2026, 10, 1), datetime(2026, 11, 1))
    assert report.previous.cost_usd == pytest.approx(before[2], rel=1e-9)
    assert report.change_pct == pytest.approx(100 * (expected[2] - before[2]) / before[2], rel=1e-9)


def test_breakdown_by_tenant_equals_a_grouped_query(ledger: str) -> None:
    period = parse_period("2026-11")
    report = build_report(ledger, period, reports=ReportsSettings(), now=NOW)
    grouped = _hand(
        ledger,
        "SELECT tenant, COUNT(*), SUM(cost_usd) FROM usage_records "
        "WHERE created_at >= :s AND created_at < :e GROUP BY tenant",
        period.start,
        period.end,
    )
    expected = {tenant: (count, cost) for tenant, count, cost in grouped}
    got = {g.value: (g.requests, g.cost_usd) for g in report.breakdowns["tenant"]}
    assert set(got) == set(expected) and None in got  # requests without a tenant are a group too
    for tenant, (count, cost) in expected.items():
        assert got[tenant][0] == count and got[tenant][1] == pytest.approx(cost, rel=1e-9)
    costs = [g.cost_usd for g in report.breakdowns["tenant"]]
    assert costs == sorted(costs, reverse=True)
    assert sum(g.requests for g in report.breakdowns["model"]) == report.totals.requests


def test_percentiles_match_the_ordered_costs(ledger: str) -> None:
    period = parse_period("2026-11")
    report = build_report(ledger, period, reports=ReportsSettings(), now=NOW)
    costs = [
        row[0]
        for row in _hand(
            ledger,
            "SELECT cost_usd FROM usage_records WHERE created_at >= :s AND created_at < :e "
            "AND cost_usd IS NOT NULL",
            period.start,
            period.end,
        )
    ]
    assert report.cost_p50_usd == pytest.approx(float(np.percentile(costs, 50)), rel=1e-9)
    assert report.cost_p95_usd == pytest.approx(float(np.percentile(costs, 95)), rel=1e-9)


def test_unpriced_models_are_listed_not_zero(ledger: str) -> None:
    report = build_report(ledger, parse_period("2026-11"), reports=ReportsSettings(), now=NOW)
    unpriced = {g.value: g.requests for g in report.unpriced}
    assert unpriced["mystery"] > 0  # the model without any price
    assert sum(unpriced.values()) == report.totals.unpriced_requests
    mystery = next(g for g in report.breakdowns["model"] if g.value == "mystery")
    assert mystery.unpriced == mystery.requests


def test_budgets_forecast_and_gpu_shares(database_url: str, tmp_path: Path) -> None:
    day = datetime(2026, 11, 10, 12, tzinfo=UTC)
    # acme (key gk_acme0001): 6 requests of 120 tokens; globex: 2 of 300.
    rows = [ledger_row(i, day + timedelta(minutes=i), cost_usd=1.0) for i in range(6)]
    globex = {"tenant": "globex", "key_prefix": "gk_glob", "prompt_tokens": 300, "completion_tokens": 0}
    rows += [ledger_row(10 + i, day, cost_usd=0.5, **globex) for i in range(2)]
    insert(database_url, rows)
    created = create_key(Settings(home=tmp_path, database_url=database_url), "acme", budget_usd=3.0).info
    report = build_report(
        database_url,
        parse_period("2026-11-10"),
        reports=ReportsSettings(gpu_pools={"a100": {"upstream": "vllm", "gpus": 2, "gpu_hour_usd": 1.5}}),
        tenant_budgets={"acme": 10.0, "globex": 4.0},
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )
    budgets = {(b.scope, b.name): b for b in report.budgets}
    assert budgets[("tenant", "acme")].spent_usd == pytest.approx(6.0)
    assert budgets[("tenant", "acme")].percent == pytest.approx(60.0)
    assert budgets[("tenant", "acme")].budget_period == "2026-11"
    # The month budget's spend to the report's end (10 days of 30), forecast linearly to the month's end.
    assert budgets[("tenant", "acme")].forecast_usd == pytest.approx(6.0 / 10 * 30)
    assert budgets[("tenant", "globex")].percent == pytest.approx(25.0)
    assert ("key", created.prefix) in budgets and budgets[("key", created.prefix)].spent_usd == 0.0
    assert report.forecast.month == "2026-11" and report.forecast.forecast_usd == pytest.approx(7.0 * 3)
    # 24 GPU hours x 2 GPUs of the day, shared by tokens: acme 6 x 120, globex 2 x 300.
    shares = {g.tenant: g for g in report.gpu}
    assert sum(g.gpu_hours for g in report.gpu) == pytest.approx(48.0)
    assert shares["acme"].share == pytest.approx(720 / 1320)
    assert shares["globex"].cost_usd == pytest.approx(48.0 * 600 / 1320 * 1.5)


def test_a_tenant_filter_keeps_only_its_records(ledger: str) -> None:
    period = parse_period("2026-11")
    report = build_report(ledger, period, reports=ReportsSettings(), tenants=["acme"], now=NOW)
    [[count, cost]] = _hand(
        ledger,
        "SELECT COUNT(*), SUM(cost_usd) FROM usage_records "
        "WHERE created_at >= :s AND created_at < :e AND tenant = 'acme'",
        period.start,
        period.end,
    )
    assert report.totals.requests == count and report.totals.cost_usd == pytest.approx(cost, rel=1e-9)
    assert [g.value for g in report.breakdowns["tenant"]] == ["acme"]
