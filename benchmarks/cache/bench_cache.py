"""A cache hit's overhead, from the L1 and from the Redis L2, beside a miss, for JSON answers and streams.

One gateway (``gateway.app.create_app``, the real router and HTTP layer) with the ``cache`` policy alone
in its chain, in front of a stand-in upstream that answers at once (a 16-word chat completion with its
usage, or the same as a 16-chunk stream); both are served by uvicorn on 127.0.0.1 in threads of this
process, and the client sends one request after another over loopback HTTP (httpx, keep-alive).

Two times per request:

* ``policy``: the cache policy's own hooks (``before``: key, L1 lookup, L2 round trip on an L1 miss;
  ``after`` or ``on_chunk`` + ``on_stream_end``: storing), timed inside the gateway with
  ``time.perf_counter_ns``. The L2 store runs in a task of its own and is not in it.
* ``end_to_end``: what the client waits, from sending the request to the last byte of the answer
  (parsing, the chain, serialising, the loopback round trip, and on a miss the upstream's round trip).

Paths: ``miss`` (every body unique and greedy: looked up, missed, asked upstream, stored), ``l1_hit``
(one body asked again), ``l2_hit`` (the same with ``cache.l1_max_bytes: 0``, so every hit comes from the
real Redis: ``$GENAI_TEST_REDIS_URL`` or redis://127.0.0.1:6379/0, under a prefix of the run's own,
deleted at the end). The client, the gateway and the upstream share one process (and its GIL): the
end-to-end times include the client's own work; compare them with each other, not with another setup.

    .venv/bin/python benchmarks/cache/bench_cache.py                  # ~1 minute
    .venv/bin/python benchmarks/cache/bench_cache.py --requests 300 --out /tmp/cache.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from benchmarks.provenance import RESULTS_DIR, provenance
from gateway.policies import PolicyChain
from gateway.policies.base import Answer, Call
from gateway.policies.cache import CachePolicy
from genai.settings import Settings

MODEL = "bench-chat"
WORDS = [f"word{i}" for i in range(16)]
USAGE = {"prompt_tokens": 12, "completion_tokens": 16, "total_tokens": 28}


def upstream_app() -> Starlette:
    """A stand-in OpenAI upstream: a 16-word answer at once, as JSON or as 16 chunks."""

    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        base = {"id": "bench", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", "content": " ".join(WORDS)}}
            answer = {**base, "object": "chat.completion", "choices": [choice], "usage": USAGE}
            return Response(orjson.dumps(answer), media_type="application/json")

        async def events() -> Any:
            for word in WORDS:
                choice = {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}
                yield b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"
            yield b"data: " + orjson.dumps({**base, "choices": [], "usage": USAGE}) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


class TimedCache(CachePolicy):
    """The cache policy, with the nanoseconds its hooks took for the request in flight."""

    name: ClassVar[str] = "cache"
    spent: ClassVar[list[int]] = [0]

    async def before(self, call: Call) -> Answer | None:
        started = time.perf_counter_ns()
        try:
            return await super().before(call)
        finally:
            self.spent[0] += time.perf_counter_ns() - started

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter_ns()
        try:
            return await super().after(call, answer)
        finally:
            self.spent[0] += time.perf_counter_ns() - started

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        started = time.perf_counter_ns()
        try:
            return super().on_chunk(call, event)
        finally:
            self.spent[0] += time.perf_counter_ns() - started

    def on_stream_end(self, call: Call) -> None:
        started = time.perf_counter_ns()
        try:
            super().on_stream_end(call)
        finally:
            self.spent[0] += time.perf_counter_ns() - started


class Served:
    """An ASGI app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_us": round(percentile(values, 0.50), 1),
        "p99_us": round(percentile(values, 0.99), 1),
        "mean_us": round(sum(values) / len(values), 1),
    }


def body_of(index: int | None, stream: bool) -> dict[str, Any]:
    """A greedy chat body (~300 characters); ``index`` makes it unique (None: always the same)."""
    text = "Summarise the quarterly report for the board, in three short sentences, plainly. " * 3
    tag = "" if index is None else f" (request {index})"
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": text + tag}]}
    body |= {"temperature": 0, "max_tokens": 32}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def run_path(http: httpx.Client, path: str, stream: bool, requests: int) -> dict[str, Any]:
    expected = "miss" if path == "miss" else "hit"
    if path != "miss":
        http.post("/v1/chat/completions", json=body_of(None, stream)).read()  # store it
        time.sleep(0.2)  # the L2 store runs in a task of its own
    policy_us: list[float] = []
    total_us: list[float] = []
    run = uuid.uuid4().hex[:8]
    for index in range(requests + 20):  # the first 20 warm up
        body = body_of(hash((run, index)) if path == "miss" else None, stream)
        TimedCache.spent[0] = 0
        started = time.perf_counter_ns()
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            response.read()
        elapsed = time.perf_counter_ns() - started
        assert response.status_code == 200, response.text
        assert response.headers["x-genai-cache"] == expected, (path, response.headers)
        if index >= 20:
            policy_us.append(TimedCache.spent[0] / 1000)
            total_us.append(elapsed / 1000)
    return {"policy": summary(policy_us), "end_to_end": summary(total_us), "requests": requests}


def gateway_settings(home: Path, upstream: str, redis_url: str, prefix: str, l1: bool) -> Settings:
    cache = {"l2_prefix": prefix, "redis_timeout_seconds": 0.5, **({} if l1 else {"l1_max_bytes": 0})}
    gateway = {
        "upstreams": {"bench": {"kind": "openai", "workers": [upstream], "vllm_metrics": False}},
        "models": {MODEL: {"targets": [{"upstream": "bench", "model": "bench-1"}]}},
    }
    return Settings.model_validate({"home": home, "gateway": gateway, "cache": cache, "redis_url": redis_url})


def measure(requests: int, redis_url: str) -> dict[str, Any]:
    from gateway.app import create_app

    prefix = f"genai-bench:{uuid.uuid4().hex[:8]}:"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as home, Served(upstream_app()) as upstream:
        try:
            for l1 in (True, False):
                settings = gateway_settings(Path(home), upstream, redis_url, prefix, l1)
                chain = PolicyChain([TimedCache.from_settings(settings)])
                paths = ["miss", "l1_hit"] if l1 else ["l2_hit"]
                with Served(create_app(settings, chain=chain)) as url, httpx.Client(base_url=url) as http:
                    for stream in (False, True):
                        for path in paths:
                            name = f"{'stream' if stream else 'json'}_{path}"
                            results[name] = run_path(http, path, stream, requests)
                            print(name, json.dumps(results[name]), flush=True)
        finally:
            import redis

            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per path")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "cache.json")
    options = parser.parse_args()
    redis_url = os.environ.get("GENAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    started = time.monotonic()
    results = measure(options.requests, redis_url)
    document = {
        **provenance(),
        "benchmark": "benchmarks/cache/bench_cache.py",
        "requests_per_path": options.requests,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "seconds": round(time.monotonic() - started, 1),
        "paths": results,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
