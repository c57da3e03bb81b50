"""The in-process limiter: the Redis scripts' semantics (``scripts``) in one replica's memory.

Used when no Redis is configured (``limits.backend: memory``, or ``auto`` without ``redis_url``), and by
every replica on its own while Redis is unreachable. A rate limit is a deque of entries in the order
they were counted (the clock only moves forward), with the running sum of their weights; a budget is an
integer of nano-USD per period. Everything runs on the event loop with no await in between, so a check
and its count are atomic here as the script is in Redis.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from gateway.limits.plan import NEVER, WINDOW_MS, Decision, Plan, RateState, Settlement

SWEEP_MS = 60_000  # how often windows with nothing left in them, and ended periods, are dropped


def monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


class _Entry:
    __slots__ = ("at", "live", "weight")

    def __init__(self, at: int, weight: int) -> None:
        self.at, self.weight, self.live = at, weight, True


class _Window:
    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self.total = 0

    def trim(self, cutoff: int) -> None:
        entries = self.entries
        while entries and entries[0].at <= cutoff:
            entry = entries.popleft()
            entry.live = False
            self.total -= entry.weight

    def fits_in(self, need: int, now: int, window: int) -> int:
        """Milliseconds until entries weighing at least ``need`` left the window (oldest first)."""
        freed = 0
        for entry in self.entries:
            freed += entry.weight
            if freed >= need:
                return entry.at + window - now
        return window

    def reset_ms(self, now: int, window: int) -> int:
        return self.entries[0].at + window - now if self.entries else 0


class MemoryLimiter:
    """Sliding-window rate limits and period budgets, counted in this process."""

    def __init__(self, window_ms: int = WINDOW_MS, clock: Callable[[], int] = monotonic_ms) -> None:
        self.window_ms = window_ms
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._budgets: dict[str, list[int]] = {}  # key -> [spent, expires_at]
        self._swept = clock()

    def reserve(self, plan: Plan) -> Decision:
        """Check every limit of ``plan``; count all of them only if all fit."""
        now, window = self.clock(), self.window_ms
        if now - self._swept > SWEEP_MS:
            self._sweep(now)
        windows = [self._windows.setdefault(rate.key, _Window()) for rate in plan.rates]
        allowed = True
        retries: list[int] = []
        for rate, win in zip(plan.rates, windows, strict=True):
            win.trim(now - window)
            retry = 0
            if rate.weight > rate.limit:
                retry = NEVER
            elif win.total + rate.weight > rate.limit:
                retry = win.fits_in(win.total + rate.weight - rate.limit, now, window)
            allowed = allowed and retry == 0
            retries.append(retry)
        spent = [self._spent(budget.key, now) for budget in plan.budgets]
        over = [s + b.estimate > b.budget for s, b in zip(spent, plan.budgets, strict=True)]
        allowed = allowed and not any(over)
        entries: list[_Entry] = []
        if allowed:
            for rate, win in zip(plan.rates, windows, strict=True):
                entry = _Entry(now, rate.weight)
                win.entries.append(entry)
                win.total += rate.weight
                entries.append(entry)
            for j, budget in enumerate(plan.budgets):
                self._budgets[budget.key] = [spent[j] + budget.estimate, now + budget.ttl_ms]
                spent[j] += budget.estimate
        states = [
            RateState(win.total, win.reset_ms(now, window), retry)
            for win, retry in zip(windows, retries, strict=True)
        ]
        return Decision(allowed, states, spent, over, "memory", entries)

    def settle(self, plan: Plan, decision: Decision, settlement: Settlement) -> None:
        """Put the actual usage in place of what ``reserve`` counted for ``plan``."""
        entries = decision.handle
        if isinstance(entries, list):
            for rate, entry in zip(plan.rates, entries, strict=True):
                new = next((w for r, w in settlement.tokens if r is rate), None)
                if new is None or not entry.live:
                    continue  # a requests limit, or the entry already left the window
                self._windows[rate.key].total += new - entry.weight
                entry.weight = new
        for budget, delta in settlement.budgets:
            counter = self._budgets.get(budget.key)
            if counter is not None:
                counter[0] += delta

    def _spent(self, key: str, now: int) -> int:
        counter = self._budgets.get(key)
        if counter is None or counter[1] <= now:
            return 0
        return counter[0]

    def _sweep(self, now: int) -> None:
        cutoff = now - self.window_ms
        for key, win in list(self._windows.items()):
            win.trim(cutoff)
            if not win.entries:
                del self._windows[key]
        for key, (_, expires_at) in list(self._budgets.items()):
            if expires_at <= now:
                del self._budgets[key]
        self._swept = now
