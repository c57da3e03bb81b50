"""The benchmark targets that check a key and count: ``gateway-full`` and ``litellm-keyed``.

``gateway-full`` is `genai gateway` with issue 8's request chain (``FULL_POLICIES``: the plain target's
context, metrics and access_log, plus auth, limits, ledger and audit) and everything that chain needs
switched on: authentication with one API key
(made with `genai keys create` in the target's own home, tier ``bench``: 10,000,000 requests/min, no token
limit, so that it never refuses in a benchmark), rate limits counted in Redis (``$GENAI_TEST_REDIS_URL`` or
redis://127.0.0.1:6379/0, under a key prefix of this run's own, deleted afterwards; an unreachable Redis
stops the run before anything is measured), and the usage ledger and audit log in the SQLite database under
that home (``--ledger-database-url`` for another one, e.g. PostgreSQL). The chain is set explicitly: the
gateway's default chain has grown issue 9's screening and output policies since, and those are measured by
the chain targets (``servers_chain.py``), not here.

``litellm-keyed`` is LiteLLM proxy with what it offers without a database: the ``master_key`` check on
every request, and per-deployment ``rpm`` / ``tpm`` limits enforced by its router's
``usage-based-routing-v2`` strategy, counted in the same Redis. Per-key limits, budgets and spend logs
need LiteLLM's virtual keys, which need PostgreSQL and its Prisma client (not installed with
``litellm[proxy]`` here): left out. Seen with LiteLLM 1.108.7 and no database: a request without a key is
refused with 500 (its error handler imports ``prisma``), a wrong key with 400 ("No connected db."), never
401; a request over a deployment's rpm is not refused but held until the next minute's window.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import loadgen
import servers

BENCH_TIER = "bench"
BENCH_RPM = 10_000_000  # far above anything one core can serve: the limit is counted, never reached
LITELLM_MASTER_KEY = "sk-bench-master-key"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class RedisUnavailableError(RuntimeError):
    """The keyed targets count their limits in Redis; without one they would measure something else."""


def redis_url() -> str:
    return os.environ.get("GENAI_TEST_REDIS_URL") or DEFAULT_REDIS_URL


def check_redis(url: str) -> None:
    """Fail loudly before a keyed target starts: a gateway would quietly count in process instead."""
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0).ping()
    except redis.RedisError as error:
        raise RedisUnavailableError(
            f"Redis at {url} does not answer ({error}); start it or set GENAI_TEST_REDIS_URL"
        ) from error


def delete_prefix(url: str, prefix: str) -> int:
    """Remove the keys a run left under its own prefix (the sliding windows of the benchmark key)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5.0)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


# gateway-full's chain: who may call and how much, and what it cost and who did what, around the plain
# target's policies (servers.PLAIN_POLICIES), in the order the default chain runs them.
FULL_POLICIES = ["auth", "limits", "context", "metrics", "access_log", "ledger", "audit"]


def full_config(mock_url: str, redis: str, prefix: str, database_url: str | None) -> dict[str, object]:
    """genai.yaml of gateway-full: issue 8's chain (``FULL_POLICIES``), auth on, Redis limits, the ledger
    and audit log on (SQLite under the home unless ``database_url``)."""
    config: dict[str, object] = {
        **servers.gateway_config(mock_url, list(FULL_POLICIES)),
        "redis_url": redis,
        "auth": {"enabled": True},
        "limits": {
            "enabled": True,
            "backend": "redis",
            "redis_prefix": prefix,
            "tiers": {BENCH_TIER: {"requests_per_minute": BENCH_RPM, "tokens_per_minute": None}},
        },
        "accounting": {"ledger": True, "audit": True},
    }
    if database_url:
        config["database_url"] = database_url
    return config


def create_key(genai_bin: Path, env: dict[str, str]) -> str:
    """One API key of tier ``bench`` for tenant ``bench``, made with the platform's own CLI."""
    command = [str(genai_bin), "keys", "create", "--tenant", "bench", "--tier", BENCH_TIER]
    done = subprocess.run(
        [*command, "--name", "benchmark", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise servers.ServerStartError(f"genai keys create failed: {done.stderr.strip() or done.stdout}")
    key: str = json.loads(done.stdout)["key"]
    return key


def start_gateway_full(
    workdir: Path, core: int, mock_url: str, genai_bin: Path, prefix: str, database_url: str | None
) -> servers.Server:
    redis = redis_url()
    check_redis(redis)
    config = full_config(mock_url, redis, prefix, database_url)
    return start_keyed_gateway(workdir, core, mock_url, genai_bin, "gateway-full", config)


def start_keyed_gateway(
    workdir: Path, core: int, mock_url: str, genai_bin: Path, name: str, config: dict[str, object]
) -> servers.Server:
    """`genai gateway` of ``config`` with authentication on and one API key of its own home's, which the
    load generator then sends (gateway-full, and the issue 9 chain targets of ``servers_chain.py``)."""
    config_file, home = workdir / f"{name}.yaml", workdir / f"{name}-home"
    config_file.write_text(servers.yaml.safe_dump(config, sort_keys=False))
    # Explicit, so that a caller's GENAI_AUTH__ENABLED=false (the test environment's) cannot turn it off.
    env = {"GENAI_CONFIG": str(config_file), "GENAI_HOME": str(home), "GENAI_AUTH__ENABLED": "true"}
    key = create_key(genai_bin, env)
    server = servers.start_gateway(
        workdir, core, mock_url, genai_bin, name=name, config=config, env={**env, "GENAI_DATABASE_URL": None}
    )
    server.api_key = key
    return server


def ledger_rows(workdir: Path, database_url: str | None, name: str = "gateway-full") -> dict[str, int]:
    """Usage and audit rows target ``name`` wrote to its SQLite database (nothing for another database)."""
    if database_url:
        return {}
    path = workdir / f"{name}-home" / "genai.db"
    with sqlite3.connect(path) as db:
        usage: int = db.execute("SELECT count(*) FROM usage_records").fetchone()[0]
        audit: int = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    return {"ledger_rows": usage, "audit_rows": audit}


def litellm_keyed_config(mock_url: str, redis: str) -> dict[str, object]:
    """The plain LiteLLM config plus a master key (checked on every request, no database) and the route's
    rpm / tpm enforced by the router, its counters in Redis: what LiteLLM limits without PostgreSQL."""
    config = servers.litellm_config(mock_url)
    model_list = config["model_list"]
    assert isinstance(model_list, list)
    model_list[0]["litellm_params"].update({"rpm": BENCH_RPM, "tpm": 10 * BENCH_RPM})
    general = config["general_settings"]
    assert isinstance(general, dict)
    general = {
        key: value for key, value in general.items() if key != "dangerously_permit_weak_or_unset_master_key"
    }
    parts = urlsplit(redis)
    router: dict[str, object] = {
        "routing_strategy": "usage-based-routing-v2",
        "redis_host": parts.hostname or "127.0.0.1",
        "redis_port": parts.port or 6379,
    }
    if parts.password:
        router["redis_password"] = parts.password
    return {
        **config,
        "general_settings": {**general, "master_key": LITELLM_MASTER_KEY},
        "router_settings": router,
    }


def start_litellm_keyed(workdir: Path, core: int, mock_url: str, litellm_bin: Path) -> servers.Server:
    redis = redis_url()
    check_redis(redis)
    config = litellm_keyed_config(mock_url, redis)
    server = servers.start_litellm(workdir, core, mock_url, litellm_bin, name="litellm-keyed", config=config)
    server.api_key = LITELLM_MASTER_KEY
    return server


def litellm_counters(url: str) -> int:
    """LiteLLM router's per-minute rpm counters of the route's deployment found in Redis (they expire
    by themselves): more than none shows its limits were counted there."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5.0)
    return sum(1 for _ in client.scan_iter(match=f"*{servers.UPSTREAM_MODEL}:rpm:*", count=1000))


async def status_refused(url: str, api_key: str | None) -> int:
    """What a keyed target answers a request with no key or a wrong one (401 shows the check is on)."""
    async with loadgen.new_session(10.0, api_key) as session:
        body = loadgen.chat_body(servers.ROUTE_MODEL, False)
        headers = {"Content-Type": "application/json"}
        async with session.post(url + loadgen.CHAT_PATH, data=body, headers=headers) as response:
            await response.read()
            return response.status


def gateway_metrics(url: str) -> dict[str, float]:
    """The gateway's own word on its limits and ledger at the end of a run (gateway-full), read once the
    ledger's last batch is due (accounting.flush_seconds, 1 s by default), so a backlog left means it
    fell behind."""
    time.sleep(2.0)
    wanted = ("genai_gateway_limits_redis_up", "genai_gateway_ledger_backlog")
    found: dict[str, float] = {}
    with urllib.request.urlopen(url + "/metrics", timeout=5.0) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(wanted):
                series, _, value = line.rpartition(" ")
                found[series] = float(value)
    return found


def new_prefix() -> str:
    return f"genai-bench:{uuid.uuid4().hex[:12]}:"


def redis_session(url: str) -> int | None:
    """The session id of a local redis-server, so that its CPU counts as the benchmark's (the keyed
    targets' limits run there) rather than as another process's noise; None when it is not local."""
    import redis

    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        pid = int(redis.Redis.from_url(url, socket_timeout=2.0).info("server")["process_id"])
        return os.getsid(pid)
    except (redis.RedisError, OSError, KeyError, ValueError):
        return None
