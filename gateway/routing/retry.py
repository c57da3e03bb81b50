"""Retry timing: exponential backoff with full jitter, and the upstream's Retry-After honoured up to a cap
(the header itself is read by ``gateway.upstreams.base.parse_retry_after``).

Full jitter (a uniform draw between zero and the exponential ceiling) spreads the retries of many clients
that failed together, so a worker that just recovered is not hit by all of them at the same instant.
"""

from __future__ import annotations

import random

from genai.settings.gateway import RetrySettings


def backoff(attempt: int, settings: RetrySettings, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
    ceiling = min(settings.max_delay, settings.base_delay * (2**attempt))
    return rng.uniform(0.0, ceiling)


def honoured_retry_after(retry_after: float, settings: RetrySettings) -> float:
    """How long the gateway keeps off a worker that answered 429 with Retry-After: as asked, up to the cap
    (a longer wait would only hold the client; the router moves on to the next upstream instead)."""
    return min(max(0.0, retry_after), settings.max_retry_after)


def retry_delay(
    attempt: int, settings: RetrySettings, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds before retry ``attempt`` on the same worker: backoff, stretched to its honoured Retry-After."""
    delay = backoff(attempt, settings, rng)
    if retry_after is not None:
        delay = max(delay, honoured_retry_after(retry_after, settings))
    return delay
