"""``benchmarks/gateway/policy_costs.py`` end to end on the real Redis, a few requests per path: every policy
of the chain shows up with the hooks it has, each path met what it claims to measure (all misses, all L1
hits, all L2 hits, limits counted in Redis), the Redis keys it made are gone, and the tables render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.services import service_unavailable

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("GENAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.mark.redis
@pytest.mark.slow
def test_policy_costs_times_every_policy_on_the_path_it_names(tmp_path: Path) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis at {REDIS_URL} is unreachable: {error}")
    out, markdown = tmp_path / "costs.json", tmp_path / "costs.md"
    # Its own process: it tunes the GC and sends the gateway's log lines to a file of its own.
    options = ["--requests", "40", "--warmup", "5", "--redis-url", REDIS_URL, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "benchmarks/gateway/policy_costs.py", *options, "--markdown", str(markdown)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    results = data["results"]
    for path, level in (("miss", "cache_miss"), ("l1_hit", "cache_l1"), ("l2_hit", "cache_l2")):
        for size in ("typical", "4kb"):
            # A loaded machine may time Redis out: then the run says so and this would not hold.
            assert results[path][size]["seen"] == {level: 40}, (path, size, done.stderr[-1000:])
    miss, hit = results["miss"]["typical"]["hooks"], results["l1_hit"]["typical"]["hooks"]
    for label in ("auth.authenticate", "limits.before", "screening.before", "cache.before", "cache.after"):
        assert miss[label]["calls"] == 40
    assert {"output_filter.after", "ledger.record", "audit.record", "metrics.record"} <= set(miss)
    # A hit is answered by the cache's before: the after hooks of the policies listed before it never run.
    assert "cache.after" not in hit and "response_format.after" not in hit
    assert hit["output_filter.after"]["calls"] == 40
    assert results["miss"]["4kb"]["body_bytes"] > 4000 > results["miss"]["typical"]["body_bytes"]
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    assert data["meta"]["redis_keys_deleted"] > 0
    prefix = data["meta"]["redis_prefix"]
    assert not any(True for _ in client.scan_iter(match=f"{prefix}*", count=1000))
    assert "| screening: before |" in markdown.read_text()
