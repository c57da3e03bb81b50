"""The per-worker circuit breaker: closed -> open -> half-open -> closed, with a controllable clock.
The router-level check (a failing fake worker's circuit opens, then recovers) is in test_router_faults."""

from __future__ import annotations

from gateway.routing.breaker import CircuitBreaker, CircuitState
from gateway.routing.worker import Lease, Worker
from gateway.telemetry.metrics import REGISTRY
from genai.settings.gateway import BreakerSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, threshold: int = 3, open_s: float = 10.0, trials: int = 1) -> CircuitBreaker:
    settings = BreakerSettings(failure_threshold=threshold, open_seconds=open_s, half_open_requests=trials)
    return CircuitBreaker(settings, clock=clock)


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.acquire()
        breaker.record_failure()


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = _breaker(Clock())
    _fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED and breaker.available()
    _fail(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    assert not breaker.available() and not breaker.acquire()


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = _breaker(Clock())
    _fail(breaker, 2)
    breaker.acquire()
    breaker.record_success()
    _fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED


def test_half_open_after_the_pause_lets_limited_trials_through() -> None:
    clock = Clock()
    breaker = _breaker(clock, trials=2)
    _fail(breaker, 3)
    clock.now += 9.9
    assert breaker.state is CircuitState.OPEN
    clock.now += 0.2
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.acquire() and breaker.acquire()
    assert not breaker.acquire()  # only two trials at a time


def test_half_open_success_closes() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.acquire()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    _fail(breaker, 2)  # the failure count starts again from zero
    assert breaker.state is CircuitState.CLOSED


def test_half_open_failure_reopens_for_a_full_pause() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.acquire()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.now += 9
    assert breaker.state is CircuitState.OPEN
    clock.now += 1
    assert breaker.state is CircuitState.HALF_OPEN


def test_a_trial_without_verdict_frees_its_slot() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 10
    assert breaker.acquire()
    assert not breaker.available()
    breaker.release()  # e.g. the client went away
    assert breaker.available() and breaker.state is CircuitState.HALF_OPEN


def test_late_failures_of_requests_sent_before_opening_do_not_extend_the_pause() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    _fail(breaker, 3)
    clock.now += 5
    breaker.record_failure()
    clock.now += 5
    assert breaker.state is CircuitState.HALF_OPEN


def test_transitions_are_reported() -> None:
    clock = Clock()
    seen: list[CircuitState] = []
    breaker = _breaker(clock, threshold=1)
    breaker.on_change = seen.append
    _fail(breaker, 1)
    clock.now += 10
    breaker.acquire()
    breaker.record_success()
    assert seen == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]


def test_worker_circuit_gauge_and_lease_bookkeeping() -> None:
    worker = Worker("http://10.9.9.9:8000", "test-breaker-gauge", BreakerSettings(failure_threshold=1))
    labels = {"upstream": "test-breaker-gauge", "worker": "http://10.9.9.9:8000"}
    lease = Lease(worker)
    assert worker.in_flight == 1
    assert REGISTRY.get_sample_value("genai_gateway_in_flight", labels) == 1.0
    lease.finish(False)
    lease.finish(False)  # idempotent: a second finish changes nothing
    assert worker.in_flight == 0
    assert REGISTRY.get_sample_value("genai_gateway_circuit_state", labels) == 2.0
    assert not worker.available(now=0.0)


def test_an_abandoned_lease_gives_the_worker_back() -> None:
    worker = Worker("http://10.9.9.8:8000", "test-breaker-lease", BreakerSettings())
    lease = Lease(worker)
    assert worker.in_flight == 1
    del lease
    assert worker.in_flight == 0
