"""The benchmark targets of issue 9: `genai gateway` with its whole request chain on, for a cache miss and
for a cache hit.

Every target here is ``gateway-full`` (one API key, limits in Redis, the ledger and the audit log on, see
``servers_keyed.py``) with the chain ``CHAIN_POLICIES`` set explicitly: screening at its defaults (personal
data redacted, prompt injection flagged), context (nothing to do without a knowledge base: its check that
the request names none is what it costs), response_format (nothing to validate without one), the cache
with its L1 in process and its L2 in the same Redis under the run's prefix, and the output filter with a
short deny list (``DENY_TERMS``, masked; the mock's answer contains none, so every answer is scanned and
passes unchanged). Their requests are deterministic (``temperature: 0``), so the cache considers each:

* ``gateway-chain-miss``: every request is unique (a level's own nonce and a counter in the prompt), so
  each one looks up, misses, asks the mock and stores its answer: the whole chain's cost plus a store;
* ``gateway-chain-hit``: the same body every time: after a level's first request every one is an L1 hit,
  answered without the upstream (its latency is the gateway's alone, not an overhead over the mock);
* ``gateway-chain-hit-l2``: the same with the L1 off (``cache.l1_max_bytes: 0``): every hit is read from
  Redis.

After each, ``chain_checks`` reads the gateway's cache lookups from its /metrics, so the report can show
that the hits were hits and the misses missed.
"""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path
from typing import Any

import loadgen
import orjson
import servers
import servers_keyed

CHAIN_POLICIES = [
    "auth",
    "limits",
    "screening",
    "context",
    "response_format",
    "cache",
    "output_filter",
    "metrics",
    "access_log",
    "ledger",
    "audit",
]
CHAIN_TARGETS = ("gateway-chain-miss", "gateway-chain-hit", "gateway-chain-hit-l2")
HIT_TARGETS = ("gateway-chain-hit", "gateway-chain-hit-l2")
# Terms the output filter looks for in every answer; the mock's Lorem ipsum has none of them.
DENY_TERMS = ["internal use only", "project bluebird"]
_MARK = "@@mark@@"  # where a miss body's nonce and counter go


def chain_config(
    name: str, mock_url: str, redis: str, prefix: str, database_url: str | None
) -> dict[str, object]:
    """genai.yaml of a chain target: gateway-full's (auth, Redis limits, ledger and audit) with the whole
    chain, the cache in L1 and Redis, screening's defaults and an output deny list."""
    config = servers_keyed.full_config(mock_url, redis, prefix, database_url)
    gateway = config["gateway"]
    assert isinstance(gateway, dict)
    gateway["policies"] = list(CHAIN_POLICIES)
    cache: dict[str, object] = {"enabled": True, "l2_enabled": True, "l2_prefix": f"{prefix}cache:"}
    if name == "gateway-chain-hit-l2":
        cache["l1_max_bytes"] = 0  # no L1: every hit is Redis' (the L2's cost beside the L1's)
    config["cache"] = cache
    config["screening"] = {"pii": "redact", "injection": "flag"}  # the defaults, spelt out
    config["output"] = {"deny_terms": DENY_TERMS, "deny_action": "mask"}
    return config


def start_gateway_chain(
    name: str,
    workdir: Path,
    core: int,
    mock_url: str,
    genai_bin: Path,
    prefix: str,
    database_url: str | None,
) -> servers.Server:
    redis = servers_keyed.redis_url()
    servers_keyed.check_redis(redis)
    config = chain_config(name, mock_url, redis, prefix, database_url)
    return servers_keyed.start_keyed_gateway(workdir, core, mock_url, genai_bin, name, config)


def chain_body(model: str, stream: bool, mark: str = "") -> bytes:
    """A deterministic chat body (``temperature: 0``: the cache keeps its answer)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": f"Benchmark request{mark}: answer in a few words."}],
        "max_tokens": 16,
        "temperature": 0,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


def unique_bodies(model: str, stream: bool) -> loadgen.BodyFactory:
    """Request ``i``'s body differs from every other one this run sends: a nonce of this level's own
    (the index restarts at 0 every level) and ``i``, spliced into pre-built bytes (no JSON per request)."""
    head, _, tail = chain_body(model, stream, " " + _MARK).partition(_MARK.encode())
    nonce = uuid.uuid4().hex[:8].encode()

    def body(index: int) -> bytes:
        return b"%s%s-%d%s" % (head, nonce, index, tail)

    return body


def same_body(model: str, stream: bool) -> loadgen.BodyFactory:
    """The same deterministic body for every request (a factory too, so both targets pay for one call)."""
    fixed = chain_body(model, stream)

    def body(index: int) -> bytes:
        return fixed

    return body


def body_factory(name: str, stream: bool) -> loadgen.BodyFactory | None:
    """What target ``name``'s load levels send: None (``chat_body``) for the targets of other issues."""
    if name == "gateway-chain-miss":
        return unique_bodies(servers.ROUTE_MODEL, stream)
    if name in HIT_TARGETS:
        return same_body(servers.ROUTE_MODEL, stream)
    return None


def cache_lookups(metrics_text: str) -> dict[str, float]:
    """``genai_gateway_cache_lookups_total`` summed by result (l1, l2, miss) over models and endpoints."""
    found: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if not line.startswith("genai_gateway_cache_lookups_total{"):
            continue
        series, _, value = line.rpartition(" ")
        for label in series[series.index("{") + 1 : series.rindex("}")].split(","):
            key, _, quoted = label.partition("=")
            if key == "result":
                result = quoted.strip('"')
                found[result] = found.get(result, 0.0) + float(value)
    return found


def chain_checks(url: str) -> dict[str, Any]:
    """What the chain target's gateway says at the end: its limits and ledger (as gateway-full's), its
    cache lookups by result, and the guard events it counted."""
    checks: dict[str, Any] = {"metrics": servers_keyed.gateway_metrics(url)}
    with urllib.request.urlopen(url + "/metrics", timeout=5.0) as response:
        text = response.read().decode()
    checks["cache_lookups"] = cache_lookups(text)
    checks["guard_events"] = sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("genai_gateway_guard_events_total{")
    )
    return checks


def cache_verdict(name: str, lookups: dict[str, float]) -> tuple[bool, str]:
    """Whether the target's lookups are what it is meant to measure: a miss target no hit at all; a hit
    target at least 99% hits of the level it names (the misses: each body's first request, and those
    sent before its first answer was stored), for the L2 target no L1 hit."""
    l1, l2, miss = (lookups.get(level, 0.0) for level in ("l1", "l2", "miss"))
    total = l1 + l2 + miss
    text = f"l1 {l1:.0f}, l2 {l2:.0f}, miss {miss:.0f}"
    if not total:
        return False, f"no cache lookups counted ({text})"
    if name == "gateway-chain-miss":
        return l1 + l2 == 0, text
    wanted = "l2" if name == "gateway-chain-hit-l2" else "l1"
    level, other = (l2, l1) if wanted == "l2" else (l1, l2)
    share = level / total
    return share >= 0.99 and other == 0, f"{text}: {share:.2%} {wanted} hits"
