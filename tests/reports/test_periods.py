"""Report periods: months, ISO weeks and days by name, the relative ones, and what each is before."""

from __future__ import annotations

from datetime import datetime

import pytest

from genai.reports.periods import PeriodError, parse_period


def test_a_month_a_week_and_a_day() -> None:
    month = parse_period("2026-11")
    assert (month.kind, month.start, month.end) == ("month", datetime(2026, 11, 1), datetime(2026, 12, 1))
    week = parse_period("2026-W47")  # ISO week 47 of 2026 starts on Monday 16 November
    assert (week.kind, week.start, week.end) == ("week", datetime(2026, 11, 16), datetime(2026, 11, 23))
    day = parse_period("2026-11-30")
    assert (day.label, day.start, day.end) == ("2026-11-30", datetime(2026, 11, 30), datetime(2026, 12, 1))


def test_previous_periods_cross_year_and_month_ends() -> None:
    assert parse_period("2026-01").previous().label == "2025-12"
    assert parse_period("2026-03-01").previous().label == "2026-02-28"
    assert parse_period("2026-W01").previous().label == "2025-W52"
    assert parse_period("2027-01").previous().days == 31


def test_relative_periods_count_from_now() -> None:
    now = datetime(2026, 12, 2, 4, 30)  # a Wednesday
    assert parse_period("previous-day", now).label == "2026-12-01"
    assert parse_period("previous-week", now).label == "2026-W48"
    assert parse_period("previous-month", now).label == "2026-11"
    current = parse_period("current-month", now)
    assert current.label == "2026-12" and current.elapsed_end(now) == now


@pytest.mark.parametrize("text", ["2026-13", "2026-W54", "2026-02-30", "november", "2026/11", ""])
def test_a_bad_period_says_what_is_accepted(text: str) -> None:
    with pytest.raises(PeriodError, match="2026-W47"):
        parse_period(text)
