"""Garbage-collector settings for a long-running gateway process.

The gateway allocates many short-lived objects per request; with CPython's default thresholds full
collections ran 1-2 times a second under load, each walking every object the imports left behind (tens of
milliseconds), and requests piled up behind them (docs/benchmarks/gateway.md). Moving what exists after
start-up into the permanent generation and collecting the young generation less often removes that tail.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 10_000


def freeze_startup_objects() -> None:
    """Collect once, then exempt every surviving object (modules, the app, loaded models) from future
    collections. Call again after a large load, such as the embedding model's."""
    gc.collect()
    gc.freeze()


def tune_for_serving() -> None:
    """Freeze what start-up created and raise the young-generation threshold."""
    freeze_startup_objects()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)
