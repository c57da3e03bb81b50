"""Choosing one worker among a pool's available ones: least-loaded, round-robin, and session affinity.

Least-loaded uses each worker's load estimate (vLLM's scraped queue and KV-cache gauges corrected by the
gateway's own in-flight count, see ``Worker.load``); ties rotate so an idle pool still spreads requests.
Affinity hashes a session key onto a consistent-hash ring so a conversation's repeated prefix lands on the
worker whose prefix cache holds it, while adding or removing a worker moves only its share of keys. The
affine worker is skipped when it is much busier than the pool's average (bounded-load consistent hashing),
so one heavy session cannot pin a hot worker.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gateway.routing.worker import Worker

RING_REPLICAS = 100  # virtual nodes per worker: enough for an even split between a handful of workers
AFFINITY_LOAD_FACTOR = 2.0  # the affine worker is used while its load <= factor * (average load + 1)


def stable_hash(key: str) -> int:
    """A hash that every gateway replica computes alike (Python's ``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


class HashRing:
    """A consistent-hash ring over worker URLs."""

    __slots__ = ("_points", "_urls")

    def __init__(self, urls: Sequence[str], replicas: int = RING_REPLICAS) -> None:
        points = sorted((stable_hash(f"{url}#{i}"), url) for url in urls for i in range(replicas))
        self._points = [point for point, _ in points]
        self._urls = [url for _, url in points]

    def walk(self, key: str) -> Iterator[str]:
        """Distinct URLs in ring order from the key's position: the owner first, then its successors."""
        count = len(self._points)
        if not count:
            return
        start = bisect.bisect(self._points, stable_hash(key))
        seen: set[str] = set()
        for offset in range(count):
            url = self._urls[(start + offset) % count]
            if url not in seen:
                seen.add(url)
                yield url


class Balancer:
    """Picks a worker for one request among candidates that are up, circuit-closed and not cooling down."""

    __slots__ = ("_counter", "fresh_for", "strategy")

    def __init__(self, strategy: Literal["least_loaded", "round_robin"], fresh_for: float) -> None:
        self.strategy = strategy
        self.fresh_for = fresh_for  # scraped gauges older than this are ignored
        self._counter = itertools.count()

    def pick(
        self, candidates: Sequence[Worker], now: float, ring: HashRing | None = None, key: str | None = None
    ) -> Worker:
        if ring is not None and key:
            chosen = self._affine(candidates, ring, key, now)
            if chosen is not None:
                return chosen
        if len(candidates) == 1:
            return candidates[0]
        turn = next(self._counter)
        if self.strategy == "round_robin":
            return candidates[turn % len(candidates)]
        return self._least_loaded(candidates, now, turn)

    def _least_loaded(self, candidates: Sequence[Worker], now: float, turn: int) -> Worker:
        count = len(candidates)
        offset = turn % count
        best = candidates[offset]
        best_load = best.load(now, self.fresh_for)
        # Scanning from a rotating offset makes ties go round-robin instead of always to the first worker.
        for step in range(1, count):
            worker = candidates[(offset + step) % count]
            load = worker.load(now, self.fresh_for)
            if load < best_load:
                best, best_load = worker, load
        return best

    def _affine(self, candidates: Sequence[Worker], ring: HashRing, key: str, now: float) -> Worker | None:
        by_url = {worker.url: worker for worker in candidates}
        loads = {url: worker.load(now, self.fresh_for) for url, worker in by_url.items()}
        bound = AFFINITY_LOAD_FACTOR * (sum(loads.values()) / len(loads) + 1.0)
        for url in ring.walk(key):
            load = loads.get(url)
            if load is not None and load <= bound:
                return by_url[url]
        return None
