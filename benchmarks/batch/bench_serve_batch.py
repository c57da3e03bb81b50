"""Batch serving throughput: the serve_batch flow through the gateway, against a plain asyncio client
sending the same requests straight to the workers at the same concurrency.

In a fresh GENAI_HOME:

1. build the offline tiny model and start two real vLLM CPU workers, each pinned to a core of its own
   (as tests/fixtures/vllm.py does);
2. start ``genai gateway`` as its own process, routing ``tiny-chat`` to both workers (balanced by the
   gateway), with the platform's default policies (cache, ledger, metrics, access log; authentication off);
3. write ``--requests`` chat requests (each prompt distinct, so the gateway's cache never answers; greedy,
   ``--max-tokens`` with ``ignore_eos`` so every request generates the same number of tokens);
4. warm up: one small flow run (Prefect's temporary server starts, Great Expectations is imported) and a
   few direct requests, not timed;
5. alternate ``--repeats`` times: the direct client (httpx, asyncio, ``--concurrency`` in flight, the
   requests dealt round-robin to the two workers) and the flow (``flows.serve_batch.serve_batch`` on a
   new input file each time: the input suite, the pool's concurrency limit, slices of ``--slice-size``,
   the journal, the output suite, the results and errors files, the summary artifact).

The flow's figure is the wall time of the whole ``serve_batch`` call; the direct figure is the wall time
of sending all requests. Reported: the best of the repeats for each, and the ratio (target >= 0.9).

Usage: ``python benchmarks/batch/bench_serve_batch.py [--requests 1000] [--concurrency 16]``. Results go
to docs/benchmarks/results/batch.json unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.provenance import RESULTS_DIR, provenance

MODEL = "tiny-chat"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bodies(count: int, max_tokens: int, tag: str) -> list[dict[str, Any]]:
    """Distinct prompts (no cache hit), greedy, a fixed number of generated tokens each."""
    return [
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": f"Run {tag}: tell me about request number {index}."}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "ignore_eos": True,
        }
        for index in range(count)
    ]


def write_input(path: Path, requests: list[dict[str, Any]]) -> Path:
    lines = [
        json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body})
        for i, body in enumerate(requests)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def direct(requests: list[dict[str, Any]], workers: list[str], concurrency: int) -> dict[str, Any]:
    """The baseline: a plain asyncio httpx client, the same bodies, straight to the workers."""
    import httpx

    queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
    for item in enumerate(requests):
        queue.put_nowait(item)
    tokens, failures = 0, 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal tokens, failures
        while not queue.empty():
            index, body = queue.get_nowait()
            response = await client.post(
                f"{workers[index % len(workers)]}/v1/chat/completions", json={**body, "model": "tiny"}
            )
            if response.status_code == 200:
                tokens += response.json()["usage"]["completion_tokens"]
            else:
                failures += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=600) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return _row(len(requests), seconds, tokens, failures)


def _row(count: int, seconds: float, tokens: int, failures: int, **extra: Any) -> dict[str, Any]:
    return {
        "requests": count,
        "seconds": round(seconds, 3),
        "requests_per_second": round(count / seconds, 2),
        "completion_tokens": tokens,
        "failures": failures,
        **extra,
    }


def through_flow(path: Path, out: Path, concurrency: int, slice_size: int) -> dict[str, Any]:
    from flows.serve_batch import serve_batch

    started = time.perf_counter()
    summary = serve_batch(
        input_path=str(path),
        pool="bench",
        concurrency=concurrency,
        slice_size=slice_size,
        output_dir=str(out),
    )
    seconds = time.perf_counter() - started
    results = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    tokens = sum(json.loads(line)["response"]["body"]["usage"]["completion_tokens"] for line in results)
    return _row(
        summary.total,
        seconds,
        tokens,
        summary.failed + summary.invalid,
        serving_seconds=summary.serving_seconds,
        output_failures=summary.output_failures,
    )


def start_stack(home: Path) -> tuple[list[Any], Any, str]:
    """Two pinned vLLM workers, then the gateway in front of them; returns (workers, gateway, its URL)."""
    from genai.llm.tiny_model import create_tiny_model
    from genai.llm.worker import start_vllm_worker
    from genai.orchestration.services import start_gateway_process
    from genai.settings import Settings

    model = create_tiny_model(home / "models" / "tiny")
    cores = sorted(os.sched_getaffinity(0))
    workers = [
        start_vllm_worker(model, free_port(), "tiny", cpu_bind=str(cores[i % len(cores)]), home=home)
        for i in range(2)
    ]
    for worker in workers:
        worker.wait_ready(300)
    config = {
        "gateway": {
            "port": free_port(),
            "upstreams": {"vllm": {"workers": [w.url for w in workers], "timeout": 600}},
            "models": {MODEL: {"targets": [{"upstream": "vllm", "model": "tiny"}]}},
            "deadline_seconds": 600,
        },
    }
    config_file = home / "config.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    os.environ["GENAI_CONFIG"] = str(config_file)
    settings = Settings()
    gateway = start_gateway_process(settings, home / "logs" / "gateway.log", env=dict(os.environ))
    return workers, gateway, f"http://127.0.0.1:{settings.gateway.port}"


def run(count: int, concurrency: int, max_tokens: int, slice_size: int, repeats: int) -> dict[str, Any]:
    from genai.orchestration.services import stop_process
    from genai.settings import get_settings

    home = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    os.environ.update(
        GENAI_HOME=str(home),
        PREFECT_HOME=str(home / "prefect"),
        GENAI_AUTH__ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        GX_ANALYTICS_ENABLED="false",
    )
    workers, gateway, url = start_stack(home)
    os.environ["GENAI_BATCH__GATEWAY_URL"] = url
    get_settings.cache_clear()
    try:
        urls = [w.url for w in workers]
        through_flow(write_input(home / "warm.jsonl", bodies(20, max_tokens, "warm")), home / "warm", 4, 20)
        asyncio.run(direct(bodies(20, max_tokens, "warm-direct"), urls, 4))
        runs: dict[str, list[dict[str, Any]]] = {"direct": [], "flow": []}
        for repeat in range(repeats):
            runs["direct"].append(
                asyncio.run(direct(bodies(count, max_tokens, f"d{repeat}"), urls, concurrency))
            )
            path = write_input(home / f"in-{repeat}.jsonl", bodies(count, max_tokens, f"f{repeat}"))
            runs["flow"].append(through_flow(path, home / f"out-{repeat}", concurrency, slice_size))
            print(json.dumps({name: rows[-1] for name, rows in runs.items()}), flush=True)
    finally:
        stop_process(gateway)
        for worker in workers:
            worker.stop()
    best = {name: max(rows, key=lambda row: row["requests_per_second"]) for name, rows in runs.items()}
    ratio = best["flow"]["requests_per_second"] / best["direct"]["requests_per_second"]
    return {
        "requests": count,
        "concurrency": concurrency,
        "max_tokens": max_tokens,
        "slice_size": slice_size,
        "workers": 2,
        "cpus": os.cpu_count(),
        "runs": runs,
        "best": best,
        "ratio": round(ratio, 3),
        "target_ratio": 0.9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--slice-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--note", default="", help="Recorded with the results (e.g. the machine was shared).")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "batch.json")
    options = parser.parse_args()
    measured = run(
        options.requests, options.concurrency, options.max_tokens, options.slice_size, options.repeats
    )
    results = {**provenance(), "note": options.note, **measured}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"best": results["best"], "ratio": results["ratio"]}, indent=2))


if __name__ == "__main__":
    main()
