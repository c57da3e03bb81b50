"""One worker of an upstream (``Worker``: health, circuit, load, cool-down) and one attempt's hold on it
(``Lease``: in flight and a breaker slot until the attempt ends).

All of this is touched from the event loop only, so plain attributes suffice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gateway.routing.breaker import CircuitBreaker
from gateway.telemetry.metrics import CIRCUIT_STATE, IN_FLIGHT, UPSTREAM_LATENCY, WORKER_UP
from genai.settings.gateway import BreakerSettings

if TYPE_CHECKING:
    from gateway.routing.vllm_metrics import VllmLoad

# vLLM counts a waiting request as load twice: it is queued for KV-cache space, so it will be slower than
# a running one. A full KV cache adds this much, since new requests there preempt or wait.
WAITING_WEIGHT = 1.0
KV_CACHE_WEIGHT = 2.0
# Health checks that must fail in a row before a worker is marked down (one flaky probe is not an outage).
DOWN_AFTER_FAILED_CHECKS = 2


class Worker:
    """One worker (base URL) of an upstream."""

    __slots__ = (
        "breaker",
        "cooldown_until",
        "failed_checks",
        "in_flight",
        "in_flight_at_scrape",
        "kv_cache",
        "latency",
        "running",
        "scrape_skip",
        "scraped_at",
        "up",
        "upstream",
        "url",
        "waiting",
    )

    def __init__(self, url: str, upstream: str, breaker: BreakerSettings) -> None:
        self.url = url
        self.upstream = upstream
        self.breaker = CircuitBreaker(breaker)
        self.in_flight = 0
        self.up = True  # optimistic until a health check says otherwise, so routing works before start()
        self.failed_checks = 0
        self.cooldown_until = 0.0  # an upstream's Retry-After: no requests before this monotonic time
        self.waiting = self.running = 0.0
        self.kv_cache: float | None = None
        self.scraped_at: float | None = None
        self.in_flight_at_scrape = 0
        self.scrape_skip = 0
        self.latency = UPSTREAM_LATENCY.labels(upstream, url)
        # Gauges read the live attributes at scrape time instead of being updated on every request.
        IN_FLIGHT.labels(upstream, url).set_function(lambda: self.in_flight)
        WORKER_UP.labels(upstream, url).set_function(lambda: 1.0 if self.up else 0.0)
        CIRCUIT_STATE.labels(upstream, url).set_function(lambda: float(self.breaker.state))

    def __repr__(self) -> str:
        return f"Worker({self.upstream}:{self.url})"

    def available(self, now: float) -> bool:
        return self.up and self.cooldown_until <= now and self.breaker.available()

    def load(self, now: float, fresh_for: float) -> float:
        """Estimated queue on the worker now, in requests."""
        if self.scraped_at is None or now - self.scraped_at > fresh_for:
            return float(self.in_flight)
        # vLLM's counts at scrape time included the gateway's requests then; shift them by what the gateway
        # sent or finished since, so a burst between two scrapes still spreads.
        queued = self.running + self.waiting + (self.in_flight - self.in_flight_at_scrape)
        estimate = max(float(self.in_flight), queued) + WAITING_WEIGHT * self.waiting
        if self.kv_cache is not None:
            estimate += KV_CACHE_WEIGHT * self.kv_cache
        return estimate

    def set_load(self, load: VllmLoad, now: float) -> None:
        self.waiting = load.waiting
        self.running = load.running
        self.kv_cache = load.kv_cache_usage
        self.scraped_at = now
        self.in_flight_at_scrape = self.in_flight

    def mark_health(self, ok: bool) -> bool:
        """Record a health check's verdict; True when the worker's up/down state changed."""
        if ok:
            self.failed_checks = 0
            changed = not self.up
            self.up = True
            return changed
        self.failed_checks += 1
        if self.up and self.failed_checks >= DOWN_AFTER_FAILED_CHECKS:
            self.up = False
            return True
        return False

    def status(self, now: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "up": self.up,
            "circuit": self.breaker.state.name.lower(),
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "running": self.running,
            "kv_cache_usage": self.kv_cache,
            "cooldown_seconds": round(max(0.0, self.cooldown_until - now), 3),
            "metrics_age_seconds": None if self.scraped_at is None else round(now - self.scraped_at, 3),
        }


class Lease:
    """One attempt's hold on a worker: counts it in flight and owns a breaker slot until ``finish``."""

    __slots__ = ("_open", "started", "worker")

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.started = time.monotonic()
        worker.breaker.acquire()
        worker.in_flight += 1
        self._open = True

    def finish(self, verdict: bool | None) -> float:
        """End the attempt: True a success, False a worker fault, None no verdict. Returns its seconds."""
        if not self._open:
            return 0.0
        self._open = False
        worker = self.worker
        worker.in_flight -= 1
        if verdict is True:
            worker.breaker.record_success()
        elif verdict is False:
            worker.breaker.record_failure()
        else:
            worker.breaker.release()
        elapsed = time.monotonic() - self.started
        worker.latency.observe(elapsed)
        return elapsed

    def __del__(self) -> None:
        # A stream handed to the API layer but never iterated still gives its worker back.
        if self._open:
            self.finish(None)
