"""How many in-process embedding requests may hold the model at once, counted until their work ends.

A request's slot is taken on the event loop when it arrives (none free: the caller answers 429 at once)
and given back when its worker thread finishes, not when the client stops waiting: a request whose client
left keeps its slot until the encoding stopped, so the bound is on work, not on waiting callers. A request
abandoned before its thread even started gives the slot back itself (that thread will then not run).
"""

from __future__ import annotations

import threading


class Admission:
    """A counter of running embedding requests, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running = 0
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        return self._running

    def admit(self) -> Ticket | None:
        """A ticket for one request, or None when ``limit`` requests already run."""
        with self._lock:
            if self._running >= self.limit:
                return None
            self._running += 1
        return Ticket(self)

    def _release(self) -> None:
        with self._lock:
            self._running -= 1


class Ticket:
    """One admitted request: reserved -> started -> finished, or reserved -> abandoned."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._lock = threading.Lock()
        self._state = "reserved"

    def start(self) -> bool:
        """Called by the worker thread first: False if the caller gave up already (do no work)."""
        with self._lock:
            if self._state != "reserved":
                return False
            self._state = "started"
            return True

    def finish(self) -> None:
        """Called by the worker thread when its work ended, however it ended."""
        with self._lock:
            if self._state != "started":
                return
            self._state = "finished"
        self._admission._release()

    def give_up(self) -> None:
        """Called by the caller when it stops waiting: frees the slot if no thread started the work."""
        with self._lock:
            if self._state != "reserved":
                return
            self._state = "abandoned"
        self._admission._release()
