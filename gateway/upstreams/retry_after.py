"""Reading an upstream's Retry-After (or Azure's ``retry-after-ms``) header as seconds to wait."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, millis: bool = False, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (``retry-after-ms`` with
    ``millis``). None when absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        if millis:
            return None
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    else:
        if millis:
            seconds /= 1000.0
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
