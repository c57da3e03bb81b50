"""Per-example results of an evaluation and their summary.

``score_example`` turns one answered example into an ``ExampleResult`` with every per-example score but
embedding similarity, which needs the encoder and is filled for a whole list at once by
``fill_similarity`` (one batched encode). ``summarize`` reduces a list of results to an ``EvalSummary``.

Score names (per example, and the same names for their means in ``EvalSummary.metrics``): ``hit_at_k``,
``mrr`` (per example: the reciprocal rank; its mean is the MRR), ``ndcg_at_k``, ``exact_match``,
``token_f1``, ``rouge_l``, ``groundedness``, ``embedding_similarity``.

An errored example (``error`` set: the request failed or timed out) scores 0 on every answer metric
(exact match, token F1, ROUGE-L, groundedness, embedding similarity) and on retrieval unless it got search
results back: errors count against the candidate, so a model cannot look better by failing its hard
questions. Means are over all examples, errored ones included.

An answer is *correct* when its token F1 is at least ``CORRECT_F1`` (0.5); ``cost_per_correct`` is the
total cost divided by the number of correct answers (None when there is none).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from genai.evaluation.answer_metrics import exact_match, rouge_l, token_f1
from genai.evaluation.eval_set import EvalExample
from genai.evaluation.groundedness import groundedness
from genai.evaluation.retrieval_metrics import hit_at_k, ndcg_at_k, reciprocal_rank
from genai.evaluation.similarity import TextEncoder, embedding_similarity
from genai.settings import EmbeddingSettings

CORRECT_F1 = 0.5
ANSWER_METRICS = ("exact_match", "token_f1", "rouge_l", "groundedness", "embedding_similarity")
RETRIEVAL_METRICS = ("hit_at_k", "mrr", "ndcg_at_k")
METRICS = RETRIEVAL_METRICS + ANSWER_METRICS


class ExampleResult(BaseModel):
    """What one candidate did on one example, and its scores."""

    example_id: str
    question: str
    reference_answer: str
    answer: str = ""
    retrieved_doc_ids: list[str] = Field(default_factory=list, description="Ranked, one per chunk.")
    retrieved_texts: list[str] = Field(default_factory=list, description="The chunks' texts, same order.")
    latency_ms: float = Field(0.0, ge=0)
    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    cost: float = Field(0.0, ge=0, description="USD, from the version's price entry.")
    error: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)

    @property
    def correct(self) -> bool:
        """Token F1 of at least ``CORRECT_F1`` (0.5), and no error."""
        return self.error is None and self.scores.get("token_f1", 0.0) >= CORRECT_F1


def score_example(
    example: EvalExample,
    answer: str,
    retrieved_doc_ids: Sequence[str],
    retrieved_texts: Sequence[str],
    *,
    k: int,
    latency_ms: float = 0.0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost: float = 0.0,
    error: str | None = None,
) -> ExampleResult:
    """Score one answered example (all scores but ``embedding_similarity``; see ``fill_similarity``)."""
    relevant = example.relevant_doc_ids
    scores = {
        "hit_at_k": hit_at_k(retrieved_doc_ids, relevant, k),
        "mrr": reciprocal_rank(retrieved_doc_ids, relevant, k),
        "ndcg_at_k": ndcg_at_k(retrieved_doc_ids, relevant, k),
    }
    if error is None:
        scores |= {
            "exact_match": exact_match(answer, example.reference_answer),
            "token_f1": token_f1(answer, example.reference_answer),
            "rouge_l": rouge_l(answer, example.reference_answer),
            "groundedness": groundedness(answer, retrieved_texts),
        }
    else:
        scores |= dict.fromkeys(("exact_match", "token_f1", "rouge_l", "groundedness"), 0.0)
    return ExampleResult(
        example_id=example.id,
        question=example.question,
        reference_answer=example.reference_answer,
        answer=answer,
        retrieved_doc_ids=list(retrieved_doc_ids),
        retrieved_texts=list(retrieved_texts),
        latency_ms=latency_ms,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=cost,
        error=error,
        scores=scores,
    )


def fill_similarity(
    results: Sequence[ExampleResult],
    embedding: EmbeddingSettings | None = None,
    encoder: TextEncoder | None = None,
) -> list[ExampleResult]:
    """Copies of ``results`` with ``scores["embedding_similarity"]`` set, all embedded in one batch
    (errored examples score 0 and are not embedded)."""
    answered = [i for i, result in enumerate(results) if result.error is None]
    similarity = embedding_similarity(
        [results[i].answer for i in answered],
        [results[i].reference_answer for i in answered],
        embedding=embedding,
        encoder=encoder,
    )
    by_index = dict(zip(answered, similarity, strict=True))
    return [
        result.model_copy(update={"scores": {**result.scores, "embedding_similarity": by_index.get(i, 0.0)}})
        for i, result in enumerate(results)
    ]


class EvalSummary(BaseModel):
    """One candidate's results on one eval set, reduced to numbers."""

    metrics: dict[str, float] = Field(description="Score name -> mean over all examples.")
    k: int
    n: int
    errors: int
    error_rate: float
    correct: int = Field(description=f"Answers with token F1 >= {CORRECT_F1} (and no error).")
    latency_p50_ms: float
    latency_p95_ms: float
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    cost_total: float
    cost_per_request: float
    cost_per_correct: float | None = Field(description="None when no answer is correct.")

    def flat(self) -> dict[str, float]:
        """Every number as one flat name -> value mapping (MLflow metrics, registry tags); metric means
        keep their score names, and ``cost_per_correct`` is left out when None."""
        values: dict[str, float] = dict(self.metrics)
        for name, value in self.model_dump(exclude={"metrics"}).items():
            if value is not None:
                values[name] = float(value)
        return values


def summarize(results: Sequence[ExampleResult], k: int) -> EvalSummary:
    """The summary of ``results``: the mean of every per-example score, errors, latency percentiles
    (over all examples, errored ones too: a timeout is latency a user waits), tokens and costs."""
    if not results:
        raise ValueError("no results to summarize")
    names = list(dict.fromkeys(name for result in results for name in result.scores))
    metrics = {name: float(np.mean([r.scores.get(name, 0.0) for r in results])) for name in names}
    latencies = np.array([r.latency_ms for r in results], dtype=np.float64)
    errors = sum(1 for r in results if r.error is not None)
    correct = sum(1 for r in results if r.correct)
    prompt = sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens for r in results)
    cost = float(sum(r.cost for r in results))
    return EvalSummary(
        metrics=metrics,
        k=k,
        n=len(results),
        errors=errors,
        error_rate=errors / len(results),
        correct=correct,
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p95_ms=float(np.percentile(latencies, 95)),
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens=prompt + completion,
        cost_total=cost,
        cost_per_request=cost / len(results),
        cost_per_correct=cost / correct if correct else None,
    )


def scores_by_example(results: Sequence[ExampleResult]) -> dict[str, dict[str, float]]:
    """example id -> its scores: what the gates and the paired bootstrap compare."""
    return {result.example_id: dict(result.scores) for result in results}
