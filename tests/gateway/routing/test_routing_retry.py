"""Retry timing: exponential backoff with full jitter, Retry-After parsing and its cap."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from gateway.routing.retry import backoff, honoured_retry_after, retry_delay
from gateway.upstreams.retry_after import parse_retry_after
from genai.settings.gateway import RetrySettings

SETTINGS = RetrySettings(attempts=5, base_delay=0.1, max_delay=1.0, max_retry_after=5.0)


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (9, 1.0)]:
        draws = [backoff(attempt, SETTINGS, rng) for _ in range(400)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(draws) < ceiling * 0.1 and max(draws) > ceiling * 0.9


def test_backoff_with_zero_base_never_waits() -> None:
    settings = RetrySettings(base_delay=0.0)
    assert backoff(3, settings, random.Random(1)) == 0.0


def test_retry_after_stretches_the_delay_up_to_the_cap() -> None:
    rng = random.Random(3)
    assert retry_delay(0, SETTINGS, rng, retry_after=2.0) == 2.0
    assert retry_delay(0, SETTINGS, rng, retry_after=60.0) == 5.0  # capped
    assert retry_delay(0, SETTINGS, rng, retry_after=None) <= 0.1
    # A Retry-After shorter than the backoff does not shorten it.
    expected = backoff(4, SETTINGS, random.Random(0))
    assert retry_delay(4, SETTINGS, random.Random(0), retry_after=0.0) == expected


def test_honoured_retry_after_is_capped_and_never_negative() -> None:
    assert honoured_retry_after(3.0, SETTINGS) == 3.0
    assert honoured_retry_after(30.0, SETTINGS) == 5.0
    assert honoured_retry_after(-1.0, SETTINGS) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0), (None, None), ("", None), ("soon", None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_parse_retry_after_ms() -> None:
    assert parse_retry_after("1500", millis=True) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", millis=True) is None
