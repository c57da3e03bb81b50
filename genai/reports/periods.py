"""Report periods: a month (``2026-11``), an ISO week (``2026-W47``), a day (``2026-11-30``), or the one
before now (``previous-month``, ``previous-week``, ``previous-day``; ``current-*`` for the running one).

Every bound is a naive UTC datetime, as the ledger stores ``created_at``; ``end`` is exclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Kind = Literal["month", "week", "day"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RELATIVE = re.compile(r"^(previous|current)-(month|week|day)$")
HELP = "2026-11 (a month), 2026-W47 (an ISO week), 2026-11-30 (a day), previous-month|week|day, current-..."


class PeriodError(ValueError):
    """A period that is none of the accepted forms."""


@dataclass(frozen=True)
class Period:
    """A stretch of UTC time a report covers: ``[start, end)``."""

    kind: Kind
    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return period_of(self.kind, self.start - timedelta(days=1))

    def elapsed_end(self, now: datetime) -> datetime:
        """The period's end, or ``now`` while the period is running."""
        return min(self.end, max(self.start, _naive(now)))


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def period_of(kind: Kind, moment: datetime) -> Period:
    """The period of ``kind`` that ``moment`` falls in."""
    moment = _naive(moment)
    if kind == "month":
        start = _month_start(moment.date())
        return Period("month", start.strftime("%Y-%m"), start, _next_month(start))
    if kind == "week":
        monday = moment.date() - timedelta(days=moment.weekday())
        year, week, _ = monday.isocalendar()
        start = datetime(monday.year, monday.month, monday.day)
        return Period("week", f"{year}-W{week:02d}", start, start + timedelta(days=7))
    start = datetime(moment.year, moment.month, moment.day)
    return Period("day", start.strftime("%Y-%m-%d"), start, start + timedelta(days=1))


def parse_period(text: str, now: datetime | None = None) -> Period:
    """The period ``text`` names; relative names count from ``now`` (default: the current time)."""
    value = text.strip()
    try:
        if match := _MONTH.match(value):
            return period_of("month", datetime(int(match[1]), int(match[2]), 1))
        if match := _WEEK.match(value):
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return period_of("week", datetime(monday.year, monday.month, monday.day))
        if match := _DAY.match(value):
            return period_of("day", datetime(int(match[1]), int(match[2]), int(match[3])))
    except ValueError:
        raise PeriodError(f"period {text!r} is not a real month, week or day ({HELP})") from None
    if match := _RELATIVE.match(value.lower()):
        kind: Kind = match[2]  # type: ignore[assignment]
        current = period_of(kind, now or datetime.now(UTC))
        return current.previous() if match[1] == "previous" else current
    raise PeriodError(f"period {text!r} is not one of: {HELP}")


def budget_period(kind: Literal["day", "month"], moment: datetime) -> Period:
    """The budget period (``limits.budget_period``) that ``moment`` falls in, as the gateway counts it."""
    return period_of(kind, moment)
