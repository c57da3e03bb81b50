"""Ingestion throughput, end to end, against the bare encoder on the same chunk texts.

In one process:

1. write a generated corpus (markdown documents about made-up operations topics) of at least
   ``--min-chunks`` chunks at the configured chunk size;
2. chunk it with the pipeline's own functions (no embedding) to get the exact chunk texts;
3. time bare ``SentenceTransformer.encode`` on those texts: the ceiling for the embedding stage;
4. time the ingestion flow on the corpus (parse, quality suites, plan, chunk, embed, write to SQLite and
   Qdrant local mode, Prefect task and artifact overhead), then an unchanged re-run.

Imports, the Prefect server and model weights are warmed first with a one-document run into another
knowledge base, as they are in a served deployment that has run before; the cold first run is reported
separately. Usage: ``python benchmarks/ingest/bench_ingest.py [--min-chunks 2000] [--out results.json]``.
The results (with the commit measured and whether the tree was dirty) go to
docs/benchmarks/results/ingest.json unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.provenance import RESULTS_DIR, provenance

TOPICS = (
    "invoices",
    "shipping",
    "onboarding",
    "incidents",
    "payroll",
    "contracts",
    "security",
    "backups",
    "procurement",
    "travel",
    "audits",
    "releases",
)
VERBS = (
    "review",
    "approve",
    "archive",
    "escalate",
    "reconcile",
    "verify",
    "schedule",
    "document",
    "rotate",
    "measure",
    "report",
    "assign",
)
NOUNS = (
    "the ledger",
    "each vendor",
    "the on-call rota",
    "every receipt",
    "the change log",
    "all backups",
    "the access list",
    "this quarter's budget",
    "the freight manifest",
    "new hires",
    "expired keys",
)
CLAUSES = (
    "before the monthly close",
    "within two business days",
    "when the threshold is exceeded",
    "after every release",
    "unless finance objects",
    "as the policy requires",
    "during the audit window",
)


def sentence(rng: random.Random) -> str:
    words = [rng.choice(VERBS).capitalize(), rng.choice(NOUNS), rng.choice(CLAUSES)]
    if rng.random() < 0.5:
        words += ["and", rng.choice(VERBS), rng.choice(NOUNS)]
    return " ".join(words) + "."


def write_corpus(root: Path, documents: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for n in range(documents):
        topic = TOPICS[n % len(TOPICS)]
        sections = []
        for s in range(4):
            paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(4, 9))) for _ in range(3)]
            sections.append(f"## {topic.title()} step {s + 1}\n\n" + "\n\n".join(paragraphs))
        folder = root / topic
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{topic}-{n:04d}.md").write_text(
            f"# {topic.title()} handbook {n}\n\n" + "\n\n".join(sections)
        )


def chunk_texts(source: Path, kb: str) -> list[str]:
    from genai.ingest import stages
    from genai.ingest.request import IngestRequest
    from genai.settings import get_settings

    settings = get_settings()
    request = IngestRequest(source=str(source), knowledge_base=kb)
    docs = stages.load_documents(request, settings.ingest)
    window, rejected, _ = stages.chunk_documents(docs, settings.embedding, settings.chunking, kb, "bench")
    assert not rejected, rejected
    return [chunk.text for chunk in window.all_chunks()]


def bare_encode(texts: list[str], batch_size: int) -> float:
    import torch
    from sentence_transformers import SentenceTransformer

    from genai.embedding.model_path import resolve_model_path

    model = SentenceTransformer(str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu")
    model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up
    with torch.inference_mode():
        started = time.perf_counter()
        model.encode(texts, batch_size=batch_size)
        return time.perf_counter() - started


def run_flow(source: Path, kb: str) -> tuple[float, dict[str, object]]:
    from flows.ingest import ingest

    started = time.perf_counter()
    summary = ingest(source=str(source), knowledge_base=kb)
    return time.perf_counter() - started, summary.model_dump(mode="json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-chunks", type=int, default=2000)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR / "ingest.json",
        help="write the results as JSON here (default: docs/benchmarks/results/ingest.json)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    os.environ["GENAI_HOME"] = str(workdir / "home")
    from genai.orchestration.prefect_env import configure_prefect
    from genai.settings import get_settings

    configure_prefect(get_settings(), quiet=True)
    source, warm = workdir / "corpus", workdir / "warm"
    documents = max(1, args.min_chunks // 9)
    while True:
        write_corpus(source, documents)
        texts = chunk_texts(source, "bench")
        if len(texts) >= args.min_chunks:
            break
        documents = int(documents * args.min_chunks / len(texts)) + 1
    write_corpus(warm, 1, seed=99)

    cold_seconds, _ = run_flow(warm, "warm")  # imports, Prefect server, GX context, model weights
    batch_size = get_settings().embedding.batch_size
    bare = bare_encode(texts, batch_size)
    flow_seconds, summary = run_flow(source, "bench")
    rerun_seconds, rerun = run_flow(source, "bench")
    assert summary["chunks"] == len(texts), (summary["chunks"], len(texts))
    assert rerun["unchanged"] == documents and rerun["chunks"] == 0

    results = {
        **provenance(),
        "documents": documents,
        "chunks": len(texts),
        "tokens": summary["tokens"],
        "batch_size": batch_size,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "bare_encode_seconds": round(bare, 2),
        "bare_chunks_per_second": round(len(texts) / bare, 1),
        "flow_seconds": round(flow_seconds, 2),
        "flow_chunks_per_second": round(len(texts) / flow_seconds, 1),
        "flow_vs_bare": round(bare / flow_seconds, 3),
        "rerun_seconds": round(rerun_seconds, 2),
        "rerun_vs_first": round(rerun_seconds / flow_seconds, 4),
        "stage_seconds": summary["seconds"],
        "rerun_stage_seconds": rerun["seconds"],
        "cold_warmup_run_seconds": round(cold_seconds, 2),
    }
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out}", file=sys.stderr)


def print_table(results: dict[str, Any]) -> None:
    rows = [
        (
            "corpus",
            f"{results['documents']} documents, {results['chunks']} chunks, {results['tokens']} tokens",
        ),
        (
            "bare SentenceTransformer.encode",
            f"{results['bare_encode_seconds']} s, {results['bare_chunks_per_second']} chunks/s",
        ),
        (
            "ingestion flow, end to end",
            f"{results['flow_seconds']} s, {results['flow_chunks_per_second']} chunks/s",
        ),
        ("flow / bare throughput", f"{float(results['flow_vs_bare']):.1%}  (target >= 85%)"),
        (
            "unchanged re-run",
            f"{results['rerun_seconds']} s = {float(results['rerun_vs_first']):.2%} of the "
            "first run  (target < 5%)",
        ),
        ("flow stages (s)", json.dumps(results["stage_seconds"])),
        ("re-run stages (s)", json.dumps(results["rerun_stage_seconds"])),
        ("cold one-document run (s)", str(results["cold_warmup_run_seconds"])),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
