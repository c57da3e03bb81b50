"""The workers of one upstream and how to choose among them.

A ``Pool`` is the set of identical workers (``gateway.routing.worker.Worker``) behind one upstream (vLLM
replicas, or the single endpoint of a hosted vendor). Its worker list is replaced wholesale when DNS
discovery finds a different set, keeping the state of workers that stay. All of this is touched from the
event loop only, so plain attributes suffice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.routing.balancer import Balancer, HashRing
from gateway.routing.breaker import CircuitState
from gateway.routing.worker import Worker
from gateway.telemetry.metrics import CIRCUIT_STATE, IN_FLIGHT, UPSTREAM_LATENCY, WORKER_UP
from genai.settings.gateway import BreakerSettings, UpstreamSettings


class Pool:
    """An upstream's workers and how to choose among them."""

    def __init__(
        self,
        name: str,
        settings: UpstreamSettings,
        breaker: BreakerSettings,
        balancer: Balancer,
        affinity: bool,
    ) -> None:
        self.name = name
        self.settings = settings
        self.balancer = balancer
        self._breaker = breaker
        self._affinity = affinity
        self.workers: tuple[Worker, ...] = ()
        self.ring: HashRing | None = None
        static = list(settings.workers) or ([settings.base_url] if settings.base_url else [])
        self.set_urls(static)

    def set_urls(self, urls: Sequence[str]) -> bool:
        """Replace the worker set, keeping the state of workers that stay; True when it changed."""
        urls = list(dict.fromkeys(url.rstrip("/") for url in urls))
        current = {worker.url: worker for worker in self.workers}
        if list(current) == urls:
            return False
        self.workers = tuple(current.get(url) or Worker(url, self.name, self._breaker) for url in urls)
        for url in current.keys() - set(urls):
            # A removed worker's in-flight requests finish normally; only its series disappear.
            for metric in (IN_FLIGHT, WORKER_UP, CIRCUIT_STATE, UPSTREAM_LATENCY):
                metric.remove(self.name, url)
        self.ring = HashRing(urls) if self._affinity else None
        return True

    def candidates(self, now: float, avoid: Sequence[Worker] = ()) -> list[Worker]:
        """Available workers, those not in ``avoid`` (already tried) preferred."""
        available = [worker for worker in self.workers if worker.available(now)]
        if avoid and len(available) > 1:
            fresh = [worker for worker in available if worker not in avoid]
            if fresh:
                return fresh
        return available

    def pick(self, now: float, key: str | None = None, avoid: Sequence[Worker] = ()) -> Worker | None:
        candidates = self.candidates(now, avoid)
        if not candidates:
            return None
        return self.balancer.pick(candidates, now, self.ring, key)

    def cooldown_end(self, now: float) -> float | None:
        """When the first worker that is only cooling down (Retry-After) becomes available again."""
        ends = [
            worker.cooldown_until
            for worker in self.workers
            if worker.up and worker.cooldown_until > now and worker.breaker.state is not CircuitState.OPEN
        ]
        return min(ends) if ends else None

    def has_available(self, now: float) -> bool:
        return any(worker.up and worker.breaker.state is not CircuitState.OPEN for worker in self.workers)

    def status(self, now: float) -> dict[str, Any]:
        return {
            "kind": self.settings.kind,
            "dns": self.settings.dns,
            "workers": [worker.status(now) for worker in self.workers],
        }
