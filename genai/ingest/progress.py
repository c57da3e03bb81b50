"""Progress reporting from pipeline stages to whoever is watching: the CLI's progress bar, a Prefect
progress artifact, or nobody.

Stages call ``report``; listeners are registered per process (the CLI registers one before it runs the flow).
A listener must never break the pipeline, so its errors are swallowed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Listener = Callable[[str, int, int], None]  # (stage, done, total)

_listeners: list[Listener] = []
_lock = threading.Lock()


def report(stage: str, done: int, total: int) -> None:
    """Tell every listener that ``done`` of ``total`` units of ``stage`` are finished."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(Exception):
            listener(stage, done, total)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Register ``listener`` for the duration of a ``with`` block."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
