"""Workers from DNS: an injected /etc/hosts-style resolver stands in for a Kubernetes headless service's
changing answers; one real resolution of 'localhost' checks the system resolver."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.routing.balancer import Balancer
from gateway.routing.discovery import (
    hosts_file_resolver,
    parse_target,
    refresh,
    system_resolver,
    worker_url,
)
from gateway.routing.pool import Pool
from genai.settings.gateway import BreakerSettings, UpstreamSettings
from tests.fixtures.router_calls import running

pytestmark = pytest.mark.anyio


def _pool(dns: str, workers: list[str] | None = None) -> Pool:
    settings = UpstreamSettings(dns=dns, workers=workers or [])
    return Pool("test-dns", settings, BreakerSettings(), Balancer("least_loaded", 3.0), affinity=False)


def _hosts(path: Path, *lines: str) -> None:
    path.write_text("# test hosts\n" + "\n".join(lines) + "\n")


async def test_hosts_file_resolver_lists_every_address_of_a_name(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    _hosts(
        hosts,
        "10.0.0.2 vllm.genai.svc other",
        "10.0.0.1 vllm.genai.svc",
        "10.0.0.9 unrelated",
        "10.0.0.3 x vllm.genai.svc  # alias",
    )
    resolve = hosts_file_resolver(hosts)
    assert await resolve("vllm.genai.svc", 8000) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    with pytest.raises(OSError):
        await resolve("missing.svc", 8000)


async def test_refresh_follows_the_answers_and_keeps_state_of_workers_that_stay(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    _hosts(hosts, "10.0.0.1 vllm.svc", "10.0.0.2 vllm.svc")
    resolve = hosts_file_resolver(hosts)
    pool = _pool("vllm.svc:8000")
    assert pool.status(0.0)["workers"] == []  # nothing before the first lookup
    assert await refresh(pool, resolve)
    assert [w.url for w in pool.workers] == ["http://10.0.0.1:8000", "http://10.0.0.2:8000"]
    kept = pool.workers[1]
    kept.in_flight = 4
    # A pod goes, another comes: only the difference changes.
    _hosts(hosts, "10.0.0.2 vllm.svc", "10.0.0.3 vllm.svc")
    assert await refresh(pool, resolve)
    assert [w.url for w in pool.workers] == ["http://10.0.0.2:8000", "http://10.0.0.3:8000"]
    assert pool.workers[0] is kept and kept.in_flight == 4
    assert not await refresh(pool, resolve)  # same answer: no change


async def test_a_failed_lookup_keeps_the_previous_workers(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    _hosts(hosts, "10.0.0.1 vllm.svc")
    pool = _pool("vllm.svc:8000")
    await refresh(pool, hosts_file_resolver(hosts))
    _hosts(hosts)  # the name vanished (a DNS hiccup)
    assert not await refresh(pool, hosts_file_resolver(hosts))
    assert [w.url for w in pool.workers] == ["http://10.0.0.1:8000"]


async def test_static_workers_stay_beside_discovered_ones(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    _hosts(hosts, "10.0.0.1 vllm.svc")
    pool = _pool("vllm.svc:9000", workers=["http://gpu-box:8000"])
    await refresh(pool, hosts_file_resolver(hosts))
    assert [w.url for w in pool.workers] == ["http://gpu-box:8000", "http://10.0.0.1:9000"]


async def test_system_resolver_resolves_localhost() -> None:
    addresses = await system_resolver("localhost", 8000)
    assert addresses and set(addresses) <= {"127.0.0.1", "::1"}
    pool = _pool("localhost:8123")
    assert await refresh(pool, system_resolver)
    assert {w.url for w in pool.workers} <= {"http://127.0.0.1:8123", "http://[::1]:8123"}


def test_targets_and_urls() -> None:
    assert parse_target("vllm.genai.svc.cluster.local:8000") == ("vllm.genai.svc.cluster.local", 8000)
    assert parse_target("vllm") == ("vllm", 80)
    assert parse_target("[fd00::1]:8000") == ("fd00::1", 8000)
    assert worker_url("http", "fd00::1", 8000) == "http://[fd00::1]:8000"
    assert worker_url("https", "10.1.2.3", 443) == "https://10.1.2.3:443"


async def test_router_resolves_at_start_and_re_resolves_periodically(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    _hosts(hosts, "10.0.0.1 vllm.svc")
    settings = {
        "upstreams": {"pool": {"dns": "vllm.svc:8000", "health_path": None, "vllm_metrics": False}},
        "models": {"m": {"targets": [{"upstream": "pool"}]}},
        "discovery_interval": 0.05,
    }
    async with running(settings, resolver=hosts_file_resolver(hosts)) as router:
        pool = router.pools["pool"]
        assert [w.url for w in pool.workers] == ["http://10.0.0.1:8000"]  # resolved before start returned
        assert router.ready()
        _hosts(hosts, "10.0.0.1 vllm.svc", "10.0.0.2 vllm.svc")
        deadline = time.monotonic() + 5
        while len(pool.workers) < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert [w["url"] for w in router.status()["upstreams"]["pool"]["workers"]] == [
            "http://10.0.0.1:8000",
            "http://10.0.0.2:8000",
        ]
