"""The ledger suite on a real extract (SQLite and PostgreSQL): a clean busy hour passes; a negative cost,
an answer without a model and a silence in a busy hour are each caught and named."""

from __future__ import annotations

from datetime import timedelta

from genai.db import get_engine
from genai.quality.ledger_suite import check_ledger
from genai.reports.aggregate import Scope
from genai.reports.extract import ledger_extract
from tests.reports.ledger_data import NOV, insert, ledger_row

BUSY = 40  # records per hour that make an hour busy
GAP = 300.0  # seconds


def _busy_hour(first: int, hour: int) -> list[dict[str, object]]:
    """One record a minute through the whole hour (60 records, gaps of 60 s)."""
    start = NOV + timedelta(hours=hour)
    return [ledger_row(first + i, start + timedelta(minutes=i)) for i in range(60)]


def _check(url: str, known: set[str] | None = None) -> list[str]:
    day = Scope(NOV.replace(tzinfo=None), (NOV + timedelta(days=1)).replace(tzinfo=None))
    with get_engine(url).connect() as connection:
        frame = ledger_extract(connection, day, BUSY, known)
    return check_ledger(frame, gap_seconds=GAP)[1]


def test_a_clean_ledger_passes_and_quiet_nights_are_no_gap(database_url: str) -> None:
    rows = _busy_hour(0, 10) + _busy_hour(100, 11)
    rows.append(
        ledger_row(500, NOV + timedelta(hours=3))
    )  # a lone record at night, hours before the busy ones
    rows.append(ledger_row(501, NOV + timedelta(hours=5), status=429, model=None, cost_usd=None))
    insert(database_url, rows)
    assert _check(database_url, known={"qa"}) == []


def test_a_negative_cost_is_caught(database_url: str) -> None:
    rows = _busy_hour(0, 10)
    rows[7]["cost_usd"] = -0.5
    insert(database_url, rows)
    [failure] = _check(database_url)
    assert failure.startswith("no_negative_cost: 1 record(s): req-00000007: cost -0.500000 USD")


def test_a_gap_in_a_busy_hour_is_caught(database_url: str) -> None:
    rows = [
        row for row in _busy_hour(0, 10) if not 20 <= int(str(row["request_id"])[-2:]) < 32
    ]  # 13 min lost
    insert(database_url, rows)
    [failure] = _check(database_url)
    assert failure.startswith("no_gap_in_busy_hours: 1 record(s): 780 s without a record before req-00000032")


def test_an_answer_the_ledger_cannot_attribute_is_caught(database_url: str) -> None:
    rows = _busy_hour(0, 10)
    rows[3].update(model=None, model_version=None)
    rows[4].update(model="who-knows", model_version=None)
    rows[5].update(model="qa@champion", model_version=None)  # a reference to a known model
    rows[6].update(model=None, status=500)  # not an answer: no model is expected
    insert(database_url, rows)
    [failure] = _check(database_url, known={"qa"})
    assert failure.startswith("known_model: 2 record(s): req-00000003: status 200 with model None")
    assert "req-00000004" in failure and "req-00000005" not in failure
    assert _check(database_url)[0].startswith("known_model: 1 record(s): req-00000003")  # no names known
