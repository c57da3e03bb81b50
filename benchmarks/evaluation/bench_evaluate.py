"""Evaluation throughput: the evaluation flow on 200 examples, for the extractive baseline and for the tiny
vLLM model, both answering through a running gateway as online traffic does.

In a fresh GENAI_HOME:

1. write the sample corpus (the platform's own documentation) and ingest it into ``platform-docs`` with
   the ingestion flow (not timed);
2. build an eval set of ``--examples`` rows by cycling the packaged sample set (38 questions) with new ids:
   the numbers measure throughput, not answer quality;
3. register ``qa`` version 1 (extractive, retrieval from ``platform-docs``, k=4) and, unless
   ``--no-vllm``, version 2 (the offline tiny model on one real vLLM CPU worker, the same retrieval,
   its context fitted into a 512-token window);
4. start ``genai gateway`` as its own process (the way ``genai up`` runs it) and wait until it serves
   ``qa/1`` (and ``qa/2``);
5. time the evaluation flow (``flows.evaluate.evaluate``) per candidate: the set's quality check, every
   example through the gateway (4 in flight), scoring, embedding similarity, the output suite, the MLflow
   run and its per-example table, the comparison artifact. The first flow run of the process (Prefect's
   temporary server, the embedding model's load) is reported apart as ``cold``.

Usage: ``python benchmarks/evaluation/bench_evaluate.py [--examples 200] [--no-vllm] [--out FILE]``.
Results go to docs/benchmarks/results/evaluation.json unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.provenance import RESULTS_DIR, ROOT, provenance

KB = "platform-docs"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_eval_set(target: Path, examples: int) -> Path:
    import genai.demo

    sample = Path(genai.demo.__file__).parent / "eval_set.jsonl"
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    with target.open("w", encoding="utf-8") as out:
        for number in range(examples):
            row = dict(rows[number % len(rows)])
            row["id"] = f"{row['id']}-{number // len(rows)}"
            out.write(json.dumps(row) + "\n")
    return target


def _ingest(home: Path) -> None:
    from flows.ingest import ingest
    from genai.demo.corpus import write_sample_corpus

    corpus = home / "sample-kb"
    write_sample_corpus(corpus, ROOT)
    ingest(source=str(corpus), knowledge_base=KB)


def _register(settings: Any, vllm_url: str | None) -> list[str]:
    from registry.client import ModelRegistry
    from registry.spec import ModelSpec, RetrievalConfig

    registry = ModelRegistry.from_settings(settings)
    retrieval = RetrievalConfig(knowledge_base=KB, k=4)
    refs = [registry.register("qa", ModelSpec(kind="extractive", retrieval=retrieval)).ref]
    if vllm_url is not None:
        spec = ModelSpec(
            kind="vllm",
            workers=(vllm_url,),
            served_model="tiny",
            context_window=512,
            retrieval=retrieval,
        )
        refs.append(registry.register("qa", spec).ref)
    return refs


def _wait_served(url: str, refs: list[str], timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    body = {"messages": [{"role": "user", "content": "ping"}], "max_tokens": 4, "temperature": 0}
    while time.monotonic() < deadline:
        try:
            if all(
                httpx.post(f"{url}/v1/chat/completions", json={**body, "model": ref}, timeout=30).status_code
                == 200
                for ref in refs
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the gateway at {url} did not serve {refs} within {timeout:.0f} s")


def _timed_evaluation(eval_set: Path, ref: str, url: str) -> dict[str, Any]:
    from flows.evaluate import evaluate

    started = time.perf_counter()
    result = evaluate(eval_set=str(eval_set), models=[ref], gateway_url=url)
    seconds = time.perf_counter() - started
    summary = result["candidates"][0]["summary"]
    examples = int(summary["n"])
    return {
        "model": ref,
        "examples": examples,
        "seconds": round(seconds, 2),
        "examples_per_second": round(examples / seconds, 2),
        "errors": summary["errors"],
        "latency_p50_ms": summary["latency_p50_ms"],
        "latency_p95_ms": summary["latency_p95_ms"],
        "metrics": summary["metrics"],
    }


def run(examples: int, with_vllm: bool) -> dict[str, Any]:
    from genai.orchestration.services import start_gateway_process, stop_process
    from genai.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    os.environ.update(
        GENAI_HOME=str(home),
        PREFECT_HOME=str(home / "prefect"),
        GENAI_GATEWAY__PORT=str(_free_port()),
        GENAI_REGISTRY__POLL_SECONDS="1",
    )
    settings = Settings()
    _ingest(home)
    eval_set = _write_eval_set(home / "eval-200.jsonl", examples)
    worker = None
    if with_vllm:
        from genai.llm.tiny_model import create_tiny_model
        from genai.llm.worker import start_vllm_worker

        model = create_tiny_model(home / "models" / "tiny")
        worker = start_vllm_worker(model, _free_port(), "tiny", home=home)
        worker.wait_ready(300)
    gateway = None
    try:
        refs = _register(settings, worker.url if worker else None)
        gateway = start_gateway_process(settings, home / "logs" / "gateway.log", env=dict(os.environ))
        url = f"http://127.0.0.1:{settings.gateway.port}"
        _wait_served(url, refs)
        runs = {"cold": _timed_evaluation(eval_set, refs[0], url)}
        runs["extractive"] = _timed_evaluation(eval_set, refs[0], url)
        if len(refs) > 1:
            runs["tiny_vllm"] = _timed_evaluation(eval_set, refs[1], url)
        return {"examples": examples, "cpus": os.cpu_count(), "runs": runs}
    finally:
        if gateway is not None:
            stop_process(gateway)
        if worker is not None:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--no-vllm", action="store_true", help="Only the extractive baseline.")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "evaluation.json")
    options = parser.parse_args()
    results = {**provenance(), **run(options.examples, not options.no_vllm)}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["runs"], indent=2))


if __name__ == "__main__":
    main()
