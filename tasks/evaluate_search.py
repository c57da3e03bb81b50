"""The evaluation flow's search-only tasks: an eval set's questions searched directly in one retrieval mode
and scored on documents (``genai.evaluation.search_run``), and the modes' comparison artifact.

One task per mode (never per example); the vector store is opened once per task, as the gateway keeps it
open, so the timed searches measure the query path and not the opening of a local Qdrant folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.evaluate import evaluation_key

if TYPE_CHECKING:
    from genai.evaluation.eval_set import EvalSet
    from genai.evaluation.search_run import SearchSummary
    from genai.settings import Settings

SearchMode = Literal["configured", "dense", "sparse", "hybrid"]
SEARCH_K = 10  # documents per search: the deepest cut-off reported (MRR@10, nDCG@10)


def query_kind(example_id: str) -> str:
    """The query kind an eval set built for retrieval puts into its ids (``manpages-flag-3`` -> ``flag``);
    ``other`` for ids without one."""
    parts = example_id.split("-")
    return parts[-2] if len(parts) >= 3 else "other"


@task(name="search-eval-set", cache_policy=NO_CACHE)
def search_eval_set(
    eval_set: EvalSet, settings: Settings, mode: SearchMode, knowledge_base: str | None = None
) -> SearchSummary:
    """Every question searched in ``mode`` (``configured``: each knowledge base's own mode), one hit per
    document, ``SEARCH_K`` documents; the summary of the scores and latencies."""
    from genai.evaluation.search_run import run_search, summarize_search
    from genai.retrieval import search
    from genai.stores.vectors import VectorStore

    asked = None if mode == "configured" else mode
    label = f"{mode}@{knowledge_base}" if knowledge_base else mode
    with VectorStore(settings.qdrant) as store:

        def doc_ids(kb: str, question: str, k: int) -> list[str]:
            hits = search(
                kb, question, k, settings=settings, vectors=store, mode=asked, group_by_document=True
            )
            return [hit.doc_id for hit in hits]

        results, warmup_ms = run_search(eval_set.examples, doc_ids, SEARCH_K, knowledge_base)
    return summarize_search(label, results, query_kind, warmup_ms)


def search_comparison_markdown(eval_set: EvalSet, summaries: list[SearchSummary]) -> str:
    """Modes side by side: one row per mode, the four scores and the latency percentiles."""
    lines = [
        f"# Search evaluation on `{eval_set.path.name}` "
        f"({len(eval_set)} examples, set {eval_set.short_hash})",
        "",
        f"sha256 `{eval_set.sha256}`; each question searched directly, {SEARCH_K} documents per search.",
        "",
        "| mode | hit@1 | hit@5 | MRR@10 | nDCG@10 | p50 ms | p95 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        m = s.metrics
        lines.append(
            f"| {s.label} | {m['hit_at_1']:.3f} | {m['hit_at_5']:.3f} | {m['mrr_at_10']:.3f} | "
            f"{m['ndcg_at_10']:.3f} | {s.latency_p50_ms:.1f} | {s.latency_p95_ms:.1f} | {s.errors} |"
        )
    return "\n".join(lines)


@task(name="publish-search-comparison", cache_policy=NO_CACHE)
def publish_search_comparison(eval_set: EvalSet, summaries: list[SearchSummary]) -> None:
    """The modes' comparison as markdown and as a table, under the eval set's ``search`` keys."""
    create_markdown_artifact(
        search_comparison_markdown(eval_set, summaries),
        key=evaluation_key(eval_set.sha256, "search"),
        description=f"Retrieval modes compared on eval set {eval_set.path.name} ({eval_set.short_hash})",
    )
    rows = [
        {
            "mode": s.label,
            **{name: round(value, 4) for name, value in s.metrics.items()},
            "latency_p50_ms": round(s.latency_p50_ms, 2),
            "latency_p95_ms": round(s.latency_p95_ms, 2),
            "errors": s.errors,
        }
        for s in summaries
    ]
    create_table_artifact(
        rows or {"mode": []},
        key=evaluation_key(eval_set.sha256, "search-table"),
        description=f"Retrieval modes' numbers on eval set {eval_set.path.name} ({eval_set.short_hash})",
    )
