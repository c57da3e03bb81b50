"""The gateway benchmark: overhead and maximum throughput of `genai gateway` and LiteLLM proxy, in one run.

One fast mock upstream (``mock_upstream.py``) and this process (the load generator, ``loadgen.py``) share
the client core; each proxy in turn gets the other core to itself, one uvicorn worker each, the same route
(model ``bench`` -> the mock). For every target -- ``direct`` (no proxy: the baseline and the load
generator's own ceiling), ``gateway``, ``litellm`` -- it measures:

1. non-streaming chat completions at fixed offered rates (open loop, latency from the scheduled send time,
   at least ``--min-requests`` per level); a proxy's series stops at the first rate it does not sustain,
   higher rates are marked skipped;
2. maximum throughput: closed loop, back-to-back requests on N connections;
3. streaming at fixed rates: time to first token and whole-stream latency;
4. streaming maximum throughput.

The ``relay`` target (``relay.py``, a byte relay on the proxy core) runs step 1 only: the floor that any
proxy on its own core pays here, against which the proxies' overheads can be read.

``gateway`` runs without a key check, limits or ledger (authentication off, the chain context, metrics,
access_log of every run before issue 8); ``gateway-full`` is the same gateway with issue 8's chain (auth,
limits, ledger and audit added), one API key, limits in Redis and the ledger and audit log on;
``litellm-keyed`` is LiteLLM with a master key and router rpm limits in Redis (``servers_keyed.py``).
The load generator sends the keyed targets' key.
``gateway-chain-miss``, ``gateway-chain-hit`` and ``gateway-chain-hit-l2`` are gateway-full with issue 9's
whole chain (screening, cache, output policies; ``servers_chain.py``), measured only when named.

It prints the tables (see ``report.py``) and writes everything to ``--out`` as JSON. Run it from the
repository root with the app's venv, after `make litellm`:

    .venv/bin/python benchmarks/gateway/run.py                     # all targets, LiteLLM included
    .venv/bin/python benchmarks/gateway/run.py --targets direct relay gateway   # without LiteLLM
    .venv/bin/python benchmarks/gateway/run.py --targets direct gateway gateway-full litellm litellm-keyed
    .venv/bin/python benchmarks/gateway/run.py --targets direct gateway-full gateway-chain-miss \
        gateway-chain-hit gateway-chain-hit-l2

The JSON goes to docs/benchmarks/results/gateway.json unless ``--out`` says otherwise; its ``meta``
records the commit measured and whether the working tree was dirty.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # benchmarks.provenance, for machine.py

import loadgen
import machine
import report
import servers
import servers_chain
import servers_keyed
from run_options import KEYED, LEDGERED
from run_options import parse_args as parse_options


def _progress(name: str, row: dict[str, Any]) -> None:
    mode = ("stream " if row["stream"] else "") + row["mode"]
    if row.get("skipped"):
        print(f"  {name} {mode} {row['target_rate']:g}/s: skipped", file=sys.stderr, flush=True)
        return
    level = f"{row['target_rate']:g}/s" if row["target_rate"] else f"{row['concurrency']} conns"
    lat, ttft = row["latency_ms"], row["ttft_ms"]
    text = f"p50 {lat.get('p50', 0):.2f} p99 {lat.get('p99', 0):.2f} ms" if lat else "no answers"
    if ttft:
        text += f", ttft p50 {ttft['p50']:.2f} p99 {ttft['p99']:.2f} ms"
    errors = sum(row["errors"].values())
    print(
        f"  {name} {mode} {level}: {row['achieved_rps']:.0f} req/s, {text}, {errors} errors",
        file=sys.stderr,
        flush=True,
    )


async def smoke(url: str, api_key: str | None) -> None:
    """One plain and one streamed request must succeed before anything is measured."""
    recorder = loadgen.Recorder()
    async with loadgen.new_session(30.0, api_key) as session:
        for stream in (False, True):
            body = loadgen.chat_body(servers.ROUTE_MODEL, stream)
            start = asyncio.get_running_loop().time()
            await loadgen.request_once(session, url + loadgen.CHAT_PATH, body, stream, start, recorder)
    if recorder.errors or len(recorder.latencies) != 2:
        raise RuntimeError(f"smoke requests to {url} failed: {dict(recorder.errors)}")


class Target:
    """Runs the load levels against one target; every level is watched for other processes' CPU use
    and repeated (after waiting for the machine to calm down) when they took more than the threshold."""

    def __init__(
        self,
        name: str,
        url: str,
        args: argparse.Namespace,
        sessions: dict[str, int],
        api_key: str | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.args = args
        self.sessions = sessions
        self.api_key = api_key
        # The body of each request: a fresh factory per level (None: the same chat_body every time).
        self.bodies = partial(servers_chain.body_factory, name)

    async def level(self, run: Callable[[], Awaitable[loadgen.Result]]) -> dict[str, Any]:
        args = self.args
        best: dict[str, Any] | None = None
        for attempt in range(1, args.noise_retries + 2):
            monitor, cpu = machine.CpuMonitor(self.sessions.values()), machine.ProcessCpu(self.sessions)
            monitor.start()
            cpu.start()
            result = await run()
            row = {**result.as_dict(), "attempts": attempt, "noise": monitor.stop()}
            if result.mode == "closed":
                row["cpu_us_per_request"] = cpu.per_request_us(result.completed_total)
            if best is None or row["noise"]["foreign_cores"] < best["noise"]["foreign_cores"]:
                best = row
            if row["noise"]["foreign_cores"] <= args.noise_threshold:
                break
            print(
                f"  (other processes took {row['noise']['foreign_cores']:.2f} cores: measuring again)",
                file=sys.stderr,
                flush=True,
            )
            await wait_quiet(self.sessions, args)
        assert best is not None
        _progress(self.name, best)
        return best

    async def rates(self, rates: list[float], stream: bool) -> list[dict[str, Any]]:
        """Open-loop levels in ascending order; a proxy stops at its first unsustained rate."""
        args = self.args
        rows: list[dict[str, Any]] = []
        gave_up = False
        for rate in sorted(rates):
            if gave_up:
                rows.append({"mode": "open", "stream": stream, "target_rate": rate, "skipped": True})
                _progress(self.name, rows[-1])
                continue
            row = await self.level(
                partial(
                    loadgen.open_loop,
                    self.url,
                    servers.ROUTE_MODEL,
                    rate,
                    args.duration,
                    warmup=args.warmup,
                    stream=stream,
                    timeout_s=args.timeout,
                    api_key=self.api_key,
                    min_requests=args.stream_min_requests if stream else args.min_requests,
                    bodies=self.bodies(stream),
                )
            )
            rows.append(row)
            gave_up = self.name != "direct" and not report.sustained(row, args.max_p99_ms)
            # An overloaded proxy may still be working off abandoned requests: let it drain.
            await asyncio.sleep(args.pause * (5 if gave_up else 1))
        return rows

    async def closed(self, levels: list[int], stream: bool) -> list[dict[str, Any]]:
        args = self.args
        rows = []
        for concurrency in levels:
            rows.append(
                await self.level(
                    partial(
                        loadgen.closed_loop,
                        self.url,
                        servers.ROUTE_MODEL,
                        concurrency,
                        args.duration,
                        warmup=args.warmup,
                        stream=stream,
                        timeout_s=max(30.0, args.timeout),
                        api_key=self.api_key,
                        bodies=self.bodies(stream),
                    )
                )
            )
            await asyncio.sleep(args.pause)
        return rows

    async def measure(self) -> dict[str, list[dict[str, Any]]]:
        await smoke(self.url, self.api_key)
        args = self.args
        if self.name == "relay":
            # Only a calibration: the floor under the non-streaming overheads.
            return {"open": await self.rates(args.rates, False)}
        return {
            "open": await self.rates(args.rates, False),
            "closed": await self.closed(args.concurrency, False),
            "stream_open": await self.rates(args.stream_rates, True),
            "stream_closed": await self.closed(args.stream_concurrency, True),
        }


async def wait_quiet(sessions: dict[str, int], args: argparse.Namespace) -> None:
    """Wait (up to --quiet-wait seconds) until other processes use less than the noise threshold."""
    deadline = time.monotonic() + args.quiet_wait
    while time.monotonic() < deadline:
        monitor = machine.CpuMonitor(sessions.values())
        monitor.start()
        await asyncio.sleep(3.0)
        if monitor.stop()["foreign_cores"] <= args.noise_threshold / 2:
            return
    print("  (the machine stayed busy: going on)", file=sys.stderr, flush=True)


def start_target(
    name: str, workdir: Path, mock: servers.Server, args: argparse.Namespace, prefix: str
) -> servers.Server:
    if name == "relay":
        return servers.start_relay(workdir, args.proxy_core, mock.url)
    if name == "gateway":
        return servers.start_gateway(workdir, args.proxy_core, mock.url, args.genai_bin)
    if name == "gateway-full":
        return servers_keyed.start_gateway_full(
            workdir, args.proxy_core, mock.url, args.genai_bin, prefix, args.ledger_database_url
        )
    if name == "litellm-keyed":
        return servers_keyed.start_litellm_keyed(workdir, args.proxy_core, mock.url, args.litellm_bin)
    if name in servers_chain.CHAIN_TARGETS:
        return servers_chain.start_gateway_chain(
            name, workdir, args.proxy_core, mock.url, args.genai_bin, prefix, args.ledger_database_url
        )
    return servers.start_litellm(workdir, args.proxy_core, mock.url, args.litellm_bin)


def run_target(name: str, workdir: Path, mock: servers.Server, args: argparse.Namespace) -> dict[str, Any]:
    """One target: start it, measure it, stop it; for the keyed targets, what shows their checks ran."""
    prefix = servers_keyed.new_prefix()
    server = None if name == "direct" else start_target(name, workdir, mock, args, prefix)
    checks: dict[str, Any] = {}
    try:
        print(f"{name}: {server.url if server else mock.url}", file=sys.stderr, flush=True)
        # Each server leads its own session: its pid is the session id of all its processes.
        sessions = {"mock": mock.process.pid, **({"proxy": server.process.pid} if server else {})}
        redis_sid = servers_keyed.redis_session(servers_keyed.redis_url()) if name in KEYED else None
        if redis_sid is not None:
            sessions["redis"] = redis_sid  # the limits' CPU is the target's, not another process's
        asyncio.run(wait_quiet(sessions, args))
        monitor = machine.CpuMonitor(sessions.values())
        monitor.start()
        url = server.url if server else mock.url
        api_key = server.api_key if server else None
        measured: dict[str, Any] = asyncio.run(Target(name, url, args, sessions, api_key).measure())
        noise = monitor.stop()
        if name in KEYED:
            checks["status_without_key"] = asyncio.run(servers_keyed.status_refused(url, None))
            checks["status_wrong_key"] = asyncio.run(servers_keyed.status_refused(url, "sk-not-a-key"))
        if name == "gateway-full":
            checks["metrics"] = servers_keyed.gateway_metrics(url)
        if name in servers_chain.CHAIN_TARGETS:
            checks.update(servers_chain.chain_checks(url))
        if name == "litellm-keyed":
            checks["redis_rpm_counters"] = servers_keyed.litellm_counters(servers_keyed.redis_url())
    finally:
        if server is not None:
            server.stop()
        if name in LEDGERED:  # limits' windows and the cache's L2 entries, under the run's prefix
            checks["redis_keys_deleted"] = servers_keyed.delete_prefix(servers_keyed.redis_url(), prefix)
    if name in LEDGERED:
        checks.update(servers_keyed.ledger_rows(workdir, args.ledger_database_url, name))
    if checks:
        print(f"  {name} checks: {checks}", file=sys.stderr, flush=True)
        measured["checks"] = checks
    return {"results": measured, "noise": noise}


def run_targets(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    results: dict[str, Any] = {}
    noise: dict[str, Any] = {}
    mock = servers.start_mock(workdir, args.client_core, args.chunks, args.chunk_interval_ms)
    try:
        for name in args.targets:
            done = run_target(name, workdir, mock, args)
            results[name], noise[name] = done["results"], done["noise"]
    finally:
        mock.stop()
    return results, noise


def versions(args: argparse.Namespace) -> dict[str, str]:
    from importlib.metadata import version

    found = {package: version(package) for package in ("genai-platform", "fastapi", "uvicorn", "aiohttp")}
    for module in ("uvloop", "httptools"):
        try:
            found[f"gateway {module}"] = version(module)
        except Exception:
            found[f"gateway {module}"] = "not installed"
    probe = (
        "import importlib.metadata as m\n"
        "for p in ('litellm', 'fastapi', 'uvicorn', 'uvloop', 'httptools'):\n"
        "    try: print(p, m.version(p))\n"
        "    except Exception: print(p, 'not-installed')"
    )
    python = args.litellm_bin.parent / "python"
    if python.exists():
        out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            package, _, value = line.partition(" ")
            found[f"litellm-venv {package}"] = value
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_options(argv, __doc__.split("\n\n")[0])
    # The load generator shares the client core with the mock; the proxy core stays free for the proxy.
    os.sched_setaffinity(0, {args.client_core})
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    workdir.mkdir(parents=True, exist_ok=True)
    meta = {
        **machine.describe(versions(args)),
        "command": " ".join([os.path.relpath(sys.executable, servers.ROOT), *sys.argv]),
        "max_p99_ms": args.max_p99_ms,
        "noise_threshold": args.noise_threshold,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "chunks": args.chunks,
        "chunk_interval_ms": args.chunk_interval_ms,
        "proxy_core": args.proxy_core,
        "client_core": args.client_core,
        "workdir": str(workdir),
    }
    started = time.monotonic()
    results, noise = run_targets(args, workdir)
    meta["wall_s"] = round(time.monotonic() - started, 1)
    data = {"meta": meta, "results": results, "noise": noise}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    text = report.render(data)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    print(text)
    print(f"\nresults: {args.out}; server logs: {workdir}; {meta['wall_s']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
