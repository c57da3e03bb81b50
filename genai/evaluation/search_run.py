"""Evaluating the search alone: every question of an eval set searched directly (no model, no gateway),
each ranking scored on documents, each search timed.

This is how retrieval choices are compared (dense, sparse, hybrid, contextual chunks): a model's answer
would only add noise and latency the search does not cause. ``run_search`` takes the search as a function
(the evaluation flow's task passes ``genai.retrieval.search`` bound to one open vector store and a mode),
so this module needs neither Qdrant nor the embedding model. Scores are ``ranking_scores`` (hit@1,
hit@5, MRR@10, nDCG@10) on the ranked doc ids; latency is the wall time of one search call (query
embedding included, in process). A search that raises is that example's ``error`` and scores 0; a run
never raises for one example. The first search of a run warms the query path (model load, first
Qdrant scan) and is timed apart as ``warmup_ms``, not in the percentiles.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from genai.evaluation.retrieval_metrics import RANKING_SCORES, ranked_doc_ids, ranking_scores

if TYPE_CHECKING:
    from genai.evaluation.eval_set import EvalExample

SearchFunction = Callable[[str, str, int], Sequence[str]]  # (knowledge base, question, k) -> doc ids


class SearchResult(BaseModel):
    """One example searched: the ranked distinct doc ids, the time it took, the scores."""

    example_id: str
    doc_ids: list[str] = Field(default_factory=list)
    latency_ms: float = Field(0.0, ge=0)
    error: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)


class SearchSummary(BaseModel):
    """Means of the scores over all examples (errors count as 0), per query kind too, and latency."""

    label: str
    n: int
    errors: int
    first_error: str | None = None
    metrics: dict[str, float]
    by_kind: dict[str, dict[str, float]] = Field(default_factory=dict)
    latency_p50_ms: float
    latency_p95_ms: float
    latency_mean_ms: float
    warmup_ms: float = 0.0


def run_search(
    examples: Sequence[EvalExample],
    search: SearchFunction,
    k: int = 10,
    knowledge_base: str | None = None,
) -> tuple[list[SearchResult], float]:
    """Search every example (``knowledge_base`` overrides each example's); returns the results in input
    order and the warm-up search's time in ms (the first question, searched once more before timing)."""
    warmup_ms = 0.0
    if examples:
        first = examples[0]
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # the timed search below records the error
            search(knowledge_base or first.knowledge_base, first.question, k)
        warmup_ms = (time.perf_counter() - started) * 1000
    results = []
    for example in examples:
        kb = knowledge_base or example.knowledge_base
        started = time.perf_counter()
        try:
            docs = ranked_doc_ids(list(search(kb, example.question, k)))
            error = None
        except Exception as exc:  # one example's failure is recorded, not raised
            docs, error = [], f"{type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        scores = ranking_scores(docs, example.relevant_doc_ids)
        results.append(
            SearchResult(
                example_id=example.id, doc_ids=docs, latency_ms=latency_ms, error=error, scores=scores
            )
        )
    return results, warmup_ms


def summarize_search(
    label: str,
    results: Sequence[SearchResult],
    kind_of: Callable[[str], str] | None = None,
    warmup_ms: float = 0.0,
) -> SearchSummary:
    """The summary of ``results``; ``kind_of`` maps an example id to its query kind for ``by_kind``."""
    latencies = np.array([r.latency_ms for r in results] or [0.0])
    by_kind: dict[str, dict[str, float]] = {}
    if kind_of is not None:
        kinds: dict[str, list[SearchResult]] = {}
        for result in results:
            kinds.setdefault(kind_of(result.example_id), []).append(result)
        by_kind = {kind: {**_means(rows), "n": float(len(rows))} for kind, rows in sorted(kinds.items())}
    return SearchSummary(
        label=label,
        n=len(results),
        errors=sum(1 for r in results if r.error is not None),
        first_error=next((r.error for r in results if r.error is not None), None),
        metrics=_means(results),
        by_kind=by_kind,
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p95_ms=float(np.percentile(latencies, 95)),
        latency_mean_ms=float(latencies.mean()),
        warmup_ms=warmup_ms,
    )


def _means(results: Sequence[SearchResult]) -> dict[str, float]:
    if not results:
        return dict.fromkeys(RANKING_SCORES, 0.0)
    return {name: float(np.mean([r.scores.get(name, 0.0) for r in results])) for name in RANKING_SCORES}
