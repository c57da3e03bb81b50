"""Choosing a worker: least-loaded from vLLM's gauges and in-flight counts, round-robin, consistent-hash
session affinity, and the filtering of workers that are down, open-circuited or cooling down."""

from __future__ import annotations

import time
from collections import Counter
from typing import Literal

from gateway.routing.balancer import Balancer, HashRing
from gateway.routing.pool import Pool
from gateway.routing.vllm_metrics import VllmLoad
from gateway.routing.worker import Worker
from genai.settings.gateway import BreakerSettings, UpstreamSettings

URLS = [f"http://10.0.0.{i}:8000" for i in range(1, 4)]


def _pool(
    strategy: Literal["least_loaded", "round_robin"] = "least_loaded",
    affinity: bool = False,
    urls: list[str] = URLS,
) -> Pool:
    settings = UpstreamSettings(workers=urls)
    breaker = BreakerSettings(failure_threshold=1)
    return Pool("test-balancer", settings, breaker, Balancer(strategy, 3.0), affinity)


def test_least_loaded_follows_vllm_queue_gauges() -> None:
    pool = _pool()
    now = time.monotonic()
    busy, idle, medium = pool.workers
    busy.set_load(VllmLoad(waiting=6, running=8, kv_cache_usage=0.9), now)
    idle.set_load(VllmLoad(waiting=0, running=1, kv_cache_usage=0.1), now)
    medium.set_load(VllmLoad(waiting=1, running=4, kv_cache_usage=0.4), now)
    assert {pool.pick(now).url for _ in range(10)} == {idle.url}  # type: ignore[union-attr]


def test_least_loaded_counts_the_gateways_own_in_flight_requests() -> None:
    pool = _pool(urls=URLS[:2])
    now = time.monotonic()
    first, second = pool.workers
    first.in_flight = 5
    assert pool.pick(now) is second
    second.in_flight = 9
    assert pool.pick(now) is first


def test_concurrent_picks_spread_as_in_flight_grows() -> None:
    pool = _pool()
    now = time.monotonic()
    chosen = []
    for _ in range(30):
        worker = pool.pick(now)
        assert worker is not None
        worker.in_flight += 1  # as a lease would, while the request runs
        chosen.append(worker.url)
    assert Counter(chosen) == Counter({url: 10 for url in URLS})


def test_idle_ties_rotate_instead_of_always_picking_the_first() -> None:
    pool = _pool()
    now = time.monotonic()
    assert {pool.pick(now).url for _ in range(6)} == set(URLS)  # type: ignore[union-attr]


def test_round_robin_cycles_whatever_the_load() -> None:
    pool = _pool("round_robin")
    now = time.monotonic()
    pool.workers[0].in_flight = 100
    picks = [pool.pick(now).url for _ in range(6)]  # type: ignore[union-attr]
    assert picks[:3] == picks[3:] and sorted(picks[:3]) == sorted(URLS)


def test_unavailable_workers_are_skipped() -> None:
    pool = _pool()
    now = time.monotonic()
    down, open_circuit, cooling = pool.workers
    down.up = False
    open_circuit.breaker.acquire()
    open_circuit.breaker.record_failure()  # threshold 1: open
    assert pool.pick(now) is cooling
    cooling.cooldown_until = now + 5
    assert pool.pick(now) is None
    assert pool.cooldown_end(now) == cooling.cooldown_until


def test_already_tried_workers_are_avoided_while_others_remain() -> None:
    pool = _pool(urls=URLS[:2])
    now = time.monotonic()
    first, second = pool.workers
    first.in_flight = 0
    second.in_flight = 10  # busier, but the only untried one
    assert pool.pick(now, avoid=[first]) is second
    assert pool.pick(now, avoid=[first, second]) is first  # all tried: fall back to the best


def test_affinity_sends_a_session_to_the_same_worker_and_spreads_sessions() -> None:
    pool = _pool(affinity=True)
    now = time.monotonic()
    owners = {}
    for session in range(60):
        picks = {pool.pick(now, key=f"user-{session}").url for _ in range(5)}  # type: ignore[union-attr]
        assert len(picks) == 1
        owners[session] = picks.pop()
    shares = Counter(owners.values())
    assert len(shares) == 3 and min(shares.values()) >= 10  # every worker gets a fair share


def test_affinity_is_stable_across_processes_and_orders() -> None:
    # Every gateway replica must map a session the same way: no salted hash, no dependence on order.
    ring_a = HashRing(URLS)
    ring_b = HashRing(list(reversed(URLS)))
    for key in ("alice", "bob", "carol", "dave"):
        assert next(ring_a.walk(key)) == next(ring_b.walk(key))


def test_removing_a_worker_moves_only_its_sessions() -> None:
    before = HashRing(URLS)
    after = HashRing(URLS[:2])
    keys = [f"session-{i}" for i in range(300)]
    moved = [k for k in keys if next(before.walk(k)) != next(after.walk(k))]
    assert moved and all(next(before.walk(k)) == URLS[2] for k in moved)


def test_affinity_falls_to_the_next_ring_worker_when_the_owner_is_down() -> None:
    pool = _pool(affinity=True)
    now = time.monotonic()
    owner = pool.pick(now, key="alice")
    assert owner is not None
    owner.up = False
    other = pool.pick(now, key="alice")
    assert other is not None and other is not owner
    owner.up = True
    assert pool.pick(now, key="alice") is owner


def test_affinity_yields_when_the_owner_is_far_busier_than_the_pool() -> None:
    pool = _pool(affinity=True)
    now = time.monotonic()
    owner = pool.pick(now, key="alice")
    assert owner is not None
    owner.in_flight = 40  # average (40/3 + 1) * 2 ~ 28.7 < 40
    assert pool.pick(now, key="alice") is not owner


def test_set_urls_keeps_state_of_workers_that_stay() -> None:
    pool = _pool()
    kept = pool.workers[0]
    kept.in_flight = 2
    assert pool.set_urls([URLS[0], "http://10.0.0.9:8000"])
    assert pool.workers[0] is kept and kept.in_flight == 2
    assert [w.url for w in pool.workers] == [URLS[0], "http://10.0.0.9:8000"]
    assert not pool.set_urls([URLS[0], "http://10.0.0.9:8000/"])  # same set: nothing changes


def test_worker_load_is_used_by_balancer_not_stale_numbers() -> None:
    pool = _pool(urls=URLS[:2])
    now = time.monotonic()
    first, second = pool.workers
    first.set_load(VllmLoad(waiting=20, running=20, kv_cache_usage=1.0), now - 60)  # long stale
    second.in_flight = 1
    assert pool.pick(now) is first


def test_single_worker_pool_returns_it() -> None:
    pool = _pool(urls=URLS[:1])
    assert isinstance(pool.pick(time.monotonic()), Worker)
