"""Each request policy's own cost, in process: microseconds per request, hook by hook, for a cache miss and
for L1 and L2 hits, so the gateway benchmark's doc can say what every policy of the chain costs.

It builds issue 9's whole chain (``servers_chain.CHAIN_POLICIES``) from the same settings the
``gateway-chain-*`` targets run with (``servers_chain.chain_config``): the real policy classes, one API key
made in a temporary home, limits and the cache's L2 in the real Redis (``$GENAI_TEST_REDIS_URL`` or
redis://127.0.0.1:6379/0, under a prefix of the run's own, deleted at the end), the ledger and the audit log
in that home's SQLite database. Then it plays each request the way the gateway does (the middleware's
``authenticate``, the ``before`` hooks in order until one answers, the upstream, the ``after`` hooks of the
policies after the one that answered, the usage record to every sink) on a running event loop (uvloop, as
`genai gateway` serves), one request after another, timing each hook call with ``time.perf_counter_ns``.

The upstream is a stand-in that returns a canned answer at once (the mock's 16-token completion, with its
usage): what is timed is the policies' own work, with neither HTTP nor a model in it. A hook that awaits
Redis (limits' ``before``, an L2 lookup) includes that round trip; work a hook hands to a task or a thread
(limits' settlement, the L2 store, the ledger's and the audit log's writers) is not in any hook's time.
Streams are not played here (``on_chunk`` is not timed): JSON answers only.

Paths: ``miss`` (every body unique and deterministic: looked up, missed, stored), ``l1_hit`` (the same body
every time, after one request that stored it), ``l2_hit`` (the same with ``cache.l1_max_bytes: 0``); each
for a typical chat body (~300 characters) and a 4 KB one.

    .venv/bin/python benchmarks/gateway/policy_costs.py            # ~1 minute
    .venv/bin/python benchmarks/gateway/policy_costs.py --requests 500 --out /tmp/costs.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # benchmarks.provenance

import orjson
import servers_chain
import servers_keyed

from benchmarks.provenance import RESULTS_DIR, provenance

if TYPE_CHECKING:
    from gateway.policies import Call, Policy, PolicyChain
    from genai.settings import Settings

PATHS = ("miss", "l1_hit", "l2_hit")
CHAT_PATH = "/v1/chat/completions"
MODEL = "bench"
# The mock upstream's answer (mock_upstream.py): 16 tokens of Lorem ipsum, with usage.
ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-upstream",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Lorem ipsum dolor sit amet, consectetur adipiscing",
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 16, "total_tokens": 28},
    }
)
SYSTEM = "You are the support assistant of a travel company. Answer briefly and politely, in English."
QUESTION = "Which documents do I need to rent a car at the airport, and can I pay the deposit by card?"
# ~4 KB of ordinary prose (no personal data, no instructions to the model): screening scans all of it.
PROSE = (
    "The rental desk opens at six in the morning and closes at midnight. Customers collect the keys at "
    "the counter after showing a driving licence held for at least one year and a passport or identity "
    "card. A deposit is taken when the car is collected and released when it is returned undamaged. "
)


def chat_body(size: str, mark: str) -> dict[str, Any]:
    """A deterministic chat request (``temperature: 0``); ``size`` "typical" (~300 characters of JSON)
    or "4kb" (a user message of about 4,000 characters); ``mark`` makes it unique."""
    question = f"{QUESTION} (ref {mark})" if mark else QUESTION
    if size == "4kb":
        question = PROSE * (4000 // len(PROSE)) + question
    return {
        "model": MODEL,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        "max_tokens": 64,
        "temperature": 0,
    }


def chain_settings(home: Path, redis: str, prefix: str, path: str) -> Settings:
    """The chain target's settings (``servers_chain.chain_config``) in ``home``; the L2-hit path runs with
    the L1 off, so that every lookup reads Redis."""
    from genai.settings import Settings

    name = "gateway-chain-hit-l2" if path == "l2_hit" else "gateway-chain-miss"
    config = servers_chain.chain_config(name, "http://127.0.0.1:9", redis, prefix, None)
    database = f"sqlite:///{home / 'genai.db'}"
    return Settings(home=home, database_url=database, **config)


def implements(policy: Policy, hook: str) -> bool:
    from gateway.policies import Policy

    return getattr(type(policy), hook) is not getattr(Policy, hook)


Timings = dict[str, list[int]]  # "policy.hook" -> nanoseconds, one per request that ran the hook
TOTAL = "all policies"  # per request: the sum of its hooks' times


class Player:
    """Plays requests through ``chain`` as the gateway's middleware and pipeline do, timing every hook."""

    def __init__(self, chain: PolicyChain, key: str) -> None:
        self.chain = chain
        self.headers = [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json")]
        self.http_headers = {name.decode(): value.decode() for name, value in self.headers}
        policies = chain.policies
        self.authenticating = [p for p in policies if implements(p, "authenticate")]
        self.befores = [p for p in policies if implements(p, "before")]
        self.afters = [p for p in policies if implements(p, "after")]
        self.sinks = [p for p in policies if implements(p, "record")]
        self.position = {id(p): index for index, p in enumerate(policies)}
        # What each timed request really met: its cache level, and whether limits counted in Redis (a
        # Redis that timed out sends limits to their in-process fallback and the L2 aside: another path).
        self.seen: Counter[str] = Counter()
        limits = next((p for p in policies if p.name == "limits"), None)
        self.limiter = getattr(limits, "limiter", None)

    async def upstream(self, call: Call) -> dict[str, Any]:
        """The stand-in: the canned answer, at once, with what the router would have noted."""
        ctx = call.ctx
        ctx.upstream, ctx.worker, ctx.served_model, ctx.attempts = "mock", "http://mock", "bench-upstream", 1
        ctx.usage = {"prompt_tokens": 12, "completion_tokens": 16, "total_tokens": 28}
        answer: dict[str, Any] = orjson.loads(ANSWER)
        return answer

    async def play(self, body: dict[str, Any], timings: Timings | None) -> dict[str, Any]:
        from gateway.api.exchange import Exchange, usage_record
        from gateway.context import RequestContext
        from gateway.policies import Call

        clock = time.perf_counter_ns
        spent = 0  # this request's time in all hooks together

        async def timed(label: str, hook: Awaitable[Any]) -> Any:
            nonlocal spent
            started = clock()
            result = await hook
            took = clock() - started
            spent += took
            if timings is not None:
                timings[label].append(took)
            return result

        request_id = f"{time.monotonic_ns():032x}"
        exchange = Exchange(request_id, "POST", CHAT_PATH, time.monotonic())
        exchange.endpoint, exchange.model, exchange.served = "chat", MODEL, True
        for policy in self.authenticating:
            principal = await timed(
                f"{policy.name}.authenticate", policy.authenticate(self.headers, CHAT_PATH)
            )
            if principal is not None:
                exchange.principal = principal
                break
        ctx = RequestContext(
            request_id=request_id,
            model=MODEL,
            endpoint="chat",
            deadline=exchange.started + 60.0,
            started=exchange.started,
            principal=exchange.principal,
        )
        ctx.headers = self.http_headers
        exchange.ctx = ctx
        call = Call(ctx, body)
        call.upstream = self.upstream
        answer: dict[str, Any] | None = None
        for policy in self.befores:
            answer = await timed(f"{policy.name}.before", policy.before(call))
            if answer is not None:
                call.answered_by = policy
                break
        if answer is None:
            answer = await self.upstream(call)
        first = -1 if call.answered_by is None else self.position[id(call.answered_by)]
        for policy in self.afters:
            if self.position[id(policy)] > first:
                answer = await timed(f"{policy.name}.after", policy.after(call, answer))
        exchange.status = 200
        record = usage_record(exchange)
        for sink in self.sinks:
            started = clock()
            sink.record(record)
            took = clock() - started
            spent += took
            if timings is not None:
                timings[f"{sink.name}.record"].append(took)
        if timings is not None:
            timings[TOTAL].append(spent)
            self.seen[f"cache_{ctx.cache_level}"] += 1
            if self.limiter is not None and not getattr(self.limiter, "redis_up", True):
                self.seen["limits_in_process"] += 1
        assert answer is not None
        return answer


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))] / 1000.0


def summary(timings: Timings) -> dict[str, dict[str, float]]:
    """µs per hook call: p50, p99, mean, and how many of the requests ran it."""
    return {
        label: {
            "p50_us": percentile(values, 0.50),
            "p99_us": percentile(values, 0.99),
            "mean_us": sum(values) / len(values) / 1000.0,
            "calls": len(values),
        }
        for label, values in timings.items()
        if values
    }


async def measure_path(path: str, args: argparse.Namespace, home: Path, prefix: str) -> dict[str, Any]:
    """Both body sizes through one chain built for ``path``; the chain is closed at the end (the
    ledger's and the audit log's writers flush)."""
    from gateway.policies import build_chain
    from genai.accesskeys import create_key

    settings = chain_settings(home, args.redis_url, prefix, path)
    key = create_key(settings, "bench", tier=servers_keyed.BENCH_TIER, name="policy-costs").key
    chain = build_chain(servers_chain.CHAIN_POLICIES, settings)
    player = Player(chain, key)
    results: dict[str, Any] = {}
    try:
        for size in ("typical", "4kb"):
            body_of = _bodies(path, size)
            if path != "miss":
                await player.play(body_of(-1), None)  # stores the answer every later request hits
            for index in range(args.warmup):
                await player.play(body_of(index), None)
                await asyncio.sleep(0)  # the tasks a request left (settlement, L2 store) run between
            timings: Timings = defaultdict(list)
            player.seen.clear()
            cpu_started, wall_started = time.process_time_ns(), time.perf_counter_ns()
            for index in range(args.warmup, args.warmup + args.requests):
                await player.play(body_of(index), timings)
                await asyncio.sleep(0)
            cpu, wall = time.process_time_ns() - cpu_started, time.perf_counter_ns() - wall_started
            results[size] = {
                "body_bytes": len(orjson.dumps(body_of(0))),
                "requests": args.requests,
                "hooks": summary(timings),
                # Everything the process did per request: the hooks, the tasks they left (settlement, L2
                # stores), the ledger's and audit log's writer threads, the stand-in and this loop.
                "process_cpu_us_per_request": cpu / args.requests / 1000.0,
                "wall_us_per_request": wall / args.requests / 1000.0,
                "seen": dict(player.seen),
            }
            expected = {"miss": "cache_miss", "l1_hit": "cache_l1", "l2_hit": "cache_l2"}[path]
            if player.seen[expected] != args.requests or player.seen["limits_in_process"]:
                print(f"  {path} {size}: NOT all on the path measured: {dict(player.seen)}", file=sys.stderr)
    finally:
        await chain.close()
    return results


def _bodies(path: str, size: str) -> Callable[[int], dict[str, Any]]:
    nonce = f"{time.monotonic_ns() % 10**8:08d}"
    if path == "miss":
        return lambda index: chat_body(size, f"{nonce}-{index}")
    return lambda index: chat_body(size, "")


def render(data: dict[str, Any]) -> str:
    """One markdown table per body size: a row per policy hook, and the sum of all hooks per request."""
    lines: list[str] = []
    results = data["results"]
    for size, title in (("typical", "a typical chat body"), ("4kb", "a 4 KB chat body")):
        lines += [
            "",
            f"Per-policy cost, {title} ({results['miss'][size]['body_bytes']} bytes of JSON), µs per "
            f"request, p50 / p99 ({data['meta']['requests']} requests per path; `-`: the hook does not run "
            "on that path):",
            "",
            "| policy: hook | miss p50 / p99 | L1 hit p50 / p99 | L2 hit p50 / p99 |",
            "|---|---|---|---|",
        ]
        labels = {label for path in PATHS for label in results[path][size]["hooks"] if label != TOTAL}
        for label in [*sorted(labels, key=_order), TOTAL]:
            cells = []
            for path in PATHS:
                stats = results[path][size]["hooks"].get(label)
                cells.append("-" if stats is None else f"{stats['p50_us']:.1f} / {stats['p99_us']:.1f}")
            name = f"**{label}** (sum per request)" if label == TOTAL else label.replace(".", ": ")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        cpu = " | ".join(f"{results[path][size]['process_cpu_us_per_request']:.0f}" for path in PATHS)
        lines.append(f"| process CPU per request, mean (hooks, tasks, writer threads, stand-in) | {cpu} |")
        seen = " | ".join(_seen(results[path][size]["seen"]) for path in PATHS)
        lines.append(f"| what the timed requests met (cache level; limits off Redis) | {seen} |")
    return "\n".join(lines)


def _seen(seen: dict[str, int]) -> str:
    return ", ".join(f"{key.removeprefix('cache_')}: {count}" for key, count in sorted(seen.items()))


def _order(label: str) -> tuple[int, int]:
    """Hooks in the order a request meets them, each in chain order."""
    hooks = ("authenticate", "before", "after", "record")
    name, _, hook = label.partition(".")
    policies = servers_chain.CHAIN_POLICIES
    return (hooks.index(hook) if hook in hooks else 9, policies.index(name) if name in policies else 99)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per path and size")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests before them")
    parser.add_argument("--redis-url", default=servers_keyed.redis_url())
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "policy-costs.json")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args(argv)
    servers_keyed.check_redis(args.redis_url)
    from gateway.gc_tuning import freeze_startup_objects, tune_for_serving
    from gateway.telemetry.logging import configure_logging

    tune_for_serving()  # as `genai gateway` serves: GC thresholds, the GIL switch interval
    prefix = servers_keyed.new_prefix()
    started, load_before = time.monotonic(), os.getloadavg()
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="policy-costs-") as home:
            # The access lines go to a file, as the benchmark's gateways write theirs (INFO, JSON).
            access_log = (Path(home) / "access.log").open("w")
            configure_logging("INFO", stream=access_log)
            for path in PATHS:
                freeze_startup_objects()
                results[path] = _run(measure_path(path, args, Path(home) / path, prefix))
                print(f"  {path}: done", file=sys.stderr, flush=True)
    finally:
        deleted = servers_keyed.delete_prefix(args.redis_url, prefix)
    meta = {
        **provenance(),
        "python": sys.version.split()[0],
        "requests": args.requests,
        "warmup": args.warmup,
        "policies": servers_chain.CHAIN_POLICIES,
        "redis_prefix": prefix,
        "redis_keys_deleted": deleted,
        "wall_s": round(time.monotonic() - started, 1),
        # Other processes share the cores and Redis: a load average well above 1 makes the p99s noise.
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "command": " ".join(["benchmarks/gateway/policy_costs.py", *(argv or sys.argv[1:])]),
    }
    data = {"meta": meta, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    text = render(data)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    print(text)
    print(f"\nresults: {args.out}; {meta['wall_s']:.0f} s", file=sys.stderr)


def _run(work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """``work`` on uvloop when it is installed (what `genai gateway` serves on), else asyncio's loop."""

    async def wrapped() -> dict[str, Any]:
        return await work

    try:
        import uvloop
    except ImportError:
        return asyncio.run(wrapped())
    return uvloop.run(wrapped())


if __name__ == "__main__":
    main()
