"""The retrieval ablation: dense, sparse, hybrid and contextual chunks on the eval sets of
``build_eval_sets.py``, each row run by the evaluation flow (``flows.evaluate.evaluate`` with
``search_modes``).

In a fresh GENAI_HOME (embedded defaults: SQLite, Qdrant local mode, the packaged embedding model):

1. build the eval sets (or reuse ``--sets-dir`` when it holds a manifest);
2. per set, ingest its corpus twice with the ingestion flow: into ``KB`` (dense and sparse vectors, plain
   chunks) and into ``KB-ctx`` (the same with contextual chunks: title and heading path embedded with each
   chunk, ``retrieval.knowledge_bases.KB-ctx.contextual``);
3. the evaluation flow on ``KB`` with modes dense, sparse, hybrid and on ``KB-ctx`` with dense and hybrid:
   hit@1, hit@5, MRR@10, nDCG@10 on documents (one hit per document, 10 documents), per query kind too,
   and the latency of each search call in process (query embedding included; first search apart).

Usage: ``python benchmarks/retrieval/ablation.py [--sets pydocs,manpages] [--sets-dir DIR]
[--per-kind 100] [--out FILE]``; results go to docs/benchmarks/results/retrieval.json unless ``--out``
says otherwise. The held-out set (``build_eval_sets.HELD_OUT``) is reported, never tuned on.
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

from benchmarks.provenance import RESULTS_DIR, provenance
from tasks.evaluate_search import SearchMode

ROWS: tuple[tuple[str, str, SearchMode], ...] = (  # (label, knowledge base suffix, mode)
    ("dense", "", "dense"),
    ("sparse", "", "sparse"),
    ("hybrid", "", "hybrid"),
    ("dense+contextual", "-ctx", "dense"),
    ("hybrid+contextual", "-ctx", "hybrid"),
)
CONTEXTUAL_SUFFIX = "-ctx"


def write_config(home: Path, knowledge_bases: list[str]) -> Path:
    """The home's config: contextual chunks for each ``KB-ctx``; everything else the defaults."""
    home.mkdir(parents=True, exist_ok=True)
    lines = ["retrieval:", "  knowledge_bases:"]
    lines += [f"    {kb}{CONTEXTUAL_SUFFIX}:\n      contextual: true" for kb in knowledge_bases]
    path = home / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest_set(corpus: Path, kb: str) -> dict[str, Any]:
    """Both ingestions of one corpus, timed; returns their summaries."""
    from flows.ingest import ingest

    timings: dict[str, Any] = {}
    for name in (kb, kb + CONTEXTUAL_SUFFIX):
        started = time.perf_counter()
        summary = ingest(source=str(corpus), knowledge_base=name)
        timings[name] = {
            "seconds": round(time.perf_counter() - started, 1),
            "documents": summary.seen,
            "quarantined": summary.quarantined,
            "pipeline_version": summary.pipeline_version,
            "chunks": summary.chunks,
        }
    return timings


def evaluate_set(eval_set: Path, kb: str) -> dict[str, Any]:
    """The evaluation flow once per knowledge base (plain, contextual); every row's summary by label."""
    from flows.evaluate import evaluate

    rows: dict[str, Any] = {}
    for suffix in ("", CONTEXTUAL_SUFFIX):
        modes = [mode for _, s, mode in ROWS if s == suffix]
        result = evaluate(eval_set=str(eval_set), search_modes=modes, knowledge_base=kb + suffix)
        for (label, _, _), summary in zip([r for r in ROWS if r[1] == suffix], result["search"], strict=True):
            rows[label] = summary
    return rows


def run_ablation(sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Ingest and evaluate every set of a manifest's ``sets``; the process's GENAI_HOME must be set."""
    out: dict[str, Any] = {}
    for name, entry in sets.items():
        kb = entry["knowledge_base"]
        ingested = ingest_set(Path(entry["corpus"]), kb)
        rows = evaluate_set(Path(entry["eval_set"]), kb)
        dense = rows["dense"]["metrics"]["hit_at_1"]
        out[name] = {
            "held_out": entry.get("held_out", False),
            "queries": entry.get("queries"),
            "queries_by_kind": entry.get("queries_by_kind"),
            "sha256": entry.get("sha256"),
            "ingest": ingested,
            "rows": rows,
            "hit_at_1_points_over_dense": {
                label: round(100 * (row["metrics"]["hit_at_1"] - dense), 1) for label, row in rows.items()
            },
        }
    return out


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        "| set | mode | hit@1 | hit@5 | MRR@10 | nDCG@10 | p50 ms | p95 ms | hit@1 vs dense |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in results.items():
        tag = f"{name} (held out)" if entry["held_out"] else f"{name} (tuning)"
        for label, row in entry["rows"].items():
            m = row["metrics"]
            delta = entry["hit_at_1_points_over_dense"][label]
            lines.append(
                f"| {tag} | {label} | {m['hit_at_1']:.3f} | {m['hit_at_5']:.3f} | {m['mrr_at_10']:.3f} | "
                f"{m['ndcg_at_10']:.3f} | {row['latency_p50_ms']:.1f} | {row['latency_p95_ms']:.1f} | "
                f"{delta:+.1f} |"
            )
    return "\n".join(lines)


def retrieval_settings() -> dict[str, Any]:
    from genai.settings import get_settings

    settings = get_settings()
    fields = settings.retrieval.model_dump(mode="json")
    return {"retrieval": fields, "chunking": settings.chunking.model_dump(mode="json")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="pydocs,manpages")
    parser.add_argument("--sets-dir", type=Path, default=None)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "retrieval.json")
    args = parser.parse_args(argv)

    from benchmarks.retrieval import build_eval_sets

    workdir = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    sets_dir = args.sets_dir or workdir / "sets"
    manifest_path = sets_dir / "manifest.json"
    if not manifest_path.exists():
        build_eval_sets.main(["--out", str(sets_dir), "--sets", args.sets, "--per-kind", str(args.per_kind)])
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    sets = {name: manifest["sets"][name] for name in args.sets.split(",")}
    home = workdir / "home"
    write_config(home, [entry["knowledge_base"] for entry in sets.values()])
    os.environ["GENAI_HOME"] = str(home)
    from genai.orchestration.prefect_env import configure_prefect
    from genai.settings import get_settings

    get_settings.cache_clear()
    configure_prefect(get_settings(), quiet=True)
    started = time.perf_counter()
    results = run_ablation(sets)
    report = {
        **provenance(),
        "cores": os.cpu_count(),
        "held_out": manifest["held_out"],
        "tuning": manifest["tuning"],
        "settings": retrieval_settings(),
        "seconds": round(time.perf_counter() - started, 1),
        "sets": results,
    }
    print(markdown_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
