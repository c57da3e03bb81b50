"""Garbage-collector and thread-switch settings for a long-running gateway process.

The gateway allocates many short-lived objects per request; with CPython's default thresholds full
collections ran 1-2 times a second under load, each walking every object the imports left behind (tens of
milliseconds), and requests piled up behind them (docs/benchmarks/gateway.md). Moving what exists after
start-up into the permanent generation and collecting the young generation less often removes that tail.

The ledger and audit batches are written by child processes (``gateway.accounting.writer_process``), but
other threads remain (the writer threads' hand-over, anyio's worker threads, the registry poller, and
``accounting.writer: thread``). With CPython's default 5 ms switch interval the event loop, asking for the
GIL while such a thread holds it, waits up to those 5 ms; a 1 ms interval bounds that wait at about 1 ms,
and with the loop alone running the interval costs nothing, since no thread asks for the GIL.
"""

from __future__ import annotations

import gc
import sys

YOUNG_GENERATION_THRESHOLD = 10_000
SWITCH_INTERVAL_S = 0.001


def freeze_startup_objects() -> None:
    """Collect once, then exempt every surviving object (modules, the app, loaded models) from future
    collections. Call again after a large load, such as the embedding model's."""
    gc.collect()
    gc.freeze()


def tune_for_serving() -> None:
    """Freeze what start-up created, raise the young-generation threshold, and shorten the GIL switch
    interval so that the writer threads hand the GIL back to the event loop within about a millisecond."""
    freeze_startup_objects()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)
