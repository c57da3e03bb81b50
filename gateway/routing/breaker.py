"""A per-worker circuit breaker: closed -> open after consecutive failures -> half-open after a pause.

While open the worker gets no requests, so a broken replica costs one connect error per pause instead of
one per request. Half-open lets a few trial requests through; one success closes the circuit, one failure
opens it again. The open -> half-open move happens lazily when someone asks, so no timer is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

from genai.settings.gateway import BreakerSettings


class CircuitState(IntEnum):
    # The values are the genai_gateway_circuit_state gauge's.
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Callers ``acquire()`` before sending, then end with exactly one of ``record_success()``,
    ``record_failure()`` or ``release()`` (no verdict on the worker, e.g. the client went away)."""

    __slots__ = ("_clock", "_failures", "_opened_at", "_settings", "_state", "_trials", "on_change")

    def __init__(
        self,
        settings: BreakerSettings,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0
        self.on_change = on_change

    @property
    def state(self) -> CircuitState:
        elapsed = self._clock() - self._opened_at
        if self._state is CircuitState.OPEN and elapsed >= self._settings.open_seconds:
            self._move(CircuitState.HALF_OPEN)
        return self._state

    def available(self) -> bool:
        """Whether a request may be sent now (does not reserve a trial slot)."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        return state is CircuitState.HALF_OPEN and self._trials < self._settings.half_open_requests

    def acquire(self) -> bool:
        """Reserve the right to send one request; False when the circuit refuses it."""
        if not self.available():
            return False
        if self._state is CircuitState.HALF_OPEN:
            self._trials += 1
        return True

    def record_success(self) -> None:
        self._failures = 0
        if self._state is CircuitState.HALF_OPEN:
            self._move(CircuitState.CLOSED)

    def record_failure(self) -> None:
        state = self._state
        if state is CircuitState.HALF_OPEN:
            self._open()
        elif state is CircuitState.CLOSED:
            self._failures += 1
            if self._failures >= self._settings.failure_threshold:
                self._open()
        # Failures of requests sent before the circuit opened say nothing new: the pause keeps running.

    def release(self) -> None:
        if self._state is CircuitState.HALF_OPEN and self._trials > 0:
            self._trials -= 1

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(CircuitState.OPEN)

    def _move(self, state: CircuitState) -> None:
        self._state = state
        self._trials = 0
        if state is CircuitState.CLOSED:
            self._failures = 0
        if self.on_change is not None:
            self.on_change(state)
