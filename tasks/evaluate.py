"""The evaluation flow's tasks: check the eval set, pin each candidate to a version, run it through the
gateway, score it, check its outputs, log it to MLflow and publish the side-by-side comparison.

Each task is one coarse step over a whole candidate (never one task per example) and calls plain
functions from ``genai.evaluation`` and ``registry``. Caching is off: an evaluation must see the model and
the knowledge base as they are now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.reporting import artifact_key

if TYPE_CHECKING:
    from genai.evaluation.eval_set import EvalSet, EvalSetError
    from genai.evaluation.results import EvalSummary, ExampleResult
    from genai.settings import Settings
    from registry.client import ModelRegistry
    from registry.snapshot import VersionEntry


@dataclass(frozen=True)
class Candidate:
    """A model reference as asked (``qa``, ``qa@challenger``, ``qa/3``) and the version it names now."""

    ref: str
    entry: VersionEntry

    @property
    def pinned(self) -> str:
        return self.entry.ref


@dataclass
class CandidateRun:
    """One candidate's evaluation: its scored results, summary, output check and MLflow run."""

    candidate: Candidate
    results: list[ExampleResult]
    summary: EvalSummary
    output_failures: list[str] = field(default_factory=list)
    run_id: str = ""

    @property
    def outputs_ok(self) -> bool:
        return not self.output_failures


def evaluation_key(set_hash: str, *suffix: str) -> str:
    """Artifact keys per eval set (its first 12 hex digits), so the UI keeps each set's history."""
    return artifact_key("evaluation", set_hash[:12], *suffix)


@task(name="check-eval-set", cache_policy=NO_CACHE)
def check_eval_set(path: str) -> EvalSet:
    """Load the eval set and run its Great Expectations suite; an invalid set is reported (artifact with
    every bad row) and fails the task."""
    from genai.evaluation.eval_set import EvalSetError, load_eval_set

    try:
        return load_eval_set(path)
    except EvalSetError as error:
        publish_bad_set(path, error)
        raise


def publish_bad_set(path: str, error: EvalSetError) -> None:
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        digest = "missing-set"
    rows = [{"line": row.line, "field": row.field, "reason": row.reason} for row in error.bad_rows]
    lines = [f"# Eval set refused: `{path}`", "", error.message, ""]
    if rows:
        lines += ["| line | field | reason |", "|---:|---|---|"]
        lines += [f"| {row.line} | {row.field} | {_cell(row.reason)} |" for row in error.bad_rows]
    create_markdown_artifact("\n".join(lines), key=evaluation_key(digest), description=f"Eval set {path}")
    create_table_artifact(
        rows or {"line": [], "field": [], "reason": []},
        key=evaluation_key(digest, "bad-rows"),
        description=f"Rows of {path} that failed the eval set suite",
    )


@task(name="resolve-candidates", cache_policy=NO_CACHE)
def resolve_candidates(refs: list[str], registry: ModelRegistry) -> list[Candidate]:
    """Pin each reference to the version it names now; no references: every registered model's champion
    and challenger. The same version asked twice is evaluated once."""
    if not refs:
        refs = [
            f"{model.name}@{alias}"
            for model in registry.models()
            for alias in ("champion", "challenger")
            if alias in model.aliases
        ]
    candidates: dict[str, Candidate] = {}
    for ref in refs:
        entry = registry.resolve(ref)
        candidates.setdefault(entry.ref, Candidate(ref, entry))
    return list(candidates.values())


@task(name="run-candidate", cache_policy=NO_CACHE)
def run_candidate(
    candidate: Candidate,
    eval_set: EvalSet,
    gateway_url: str,
    settings: Settings,
    max_tokens: int,
    concurrency: int,
) -> CandidateRun:
    """Every example through the gateway pinned to the candidate's version, then scored and summarized."""
    from genai.evaluation.results import fill_similarity, score_example, summarize
    from genai.evaluation.runner import run_examples_sync, wait_until_served

    evaluation = settings.registry.evaluation
    spec = candidate.entry.spec
    key = client_key(settings)
    wait_until_served(
        gateway_url, candidate.pinned, timeout=max(10.0, settings.registry.poll_seconds * 5), api_key=key
    )
    answered = run_examples_sync(
        gateway_url,
        candidate.pinned,
        eval_set.examples,
        concurrency=concurrency,
        timeout=evaluation.request_timeout,
        max_tokens=max_tokens,
        price=spec.price,
        send_knowledge_base=spec.retrieval is not None,
        api_key=key,
    )
    scored = [
        score_example(
            example,
            result.answer,
            result.retrieved_doc_ids,
            result.retrieved_texts,
            k=evaluation.k,
            latency_ms=result.latency_ms,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost=result.cost,
            error=result.error,
        )
        for example, result in zip(eval_set.examples, answered, strict=True)
    ]
    scored = fill_similarity(scored, embedding=settings.embedding)
    return CandidateRun(candidate, scored, summarize(scored, evaluation.k))


def client_key(settings: Settings) -> str | None:
    """The key the platform's own clients present to the gateway (``auth.client_key``, else the file
    ``auth.client_key_file``, default ``home/gateway-client.key``); None with authentication off or no key."""
    auth = settings.auth
    if not auth.enabled:
        return None
    if auth.client_key is not None:
        return auth.client_key.get_secret_value()
    path = auth.client_key_file or settings.home / "gateway-client.key"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


@task(name="check-outputs", cache_policy=NO_CACHE)
def check_outputs(run: CandidateRun, settings: Settings) -> list[str]:
    """The Great Expectations suite on a candidate's outputs: no empty answers, latencies and costs within
    the evaluation bounds. Returns the failures (empty: all passed); a failure is reported, not raised."""
    from genai.quality.eval_results_suite import validate_results

    evaluation = settings.registry.evaluation
    return list(
        validate_results(
            run.results,
            max_latency_ms=evaluation.max_p95_latency_ms,
            max_cost_per_request=evaluation.max_cost_per_request,
        )
    )


@task(name="log-evaluation", cache_policy=NO_CACHE)
def log_evaluation(
    run: CandidateRun, eval_set: EvalSet, registry: ModelRegistry, params: dict[str, Any], flow_run_id: str
) -> str:
    """One MLflow run for the candidate (metrics, per-example table, results), and its version's tags."""
    from registry.tracking import EvalRunInfo, log_eval_run

    entry = run.candidate.entry
    info = EvalRunInfo(
        model=entry.name,
        version=entry.version,
        ref=run.candidate.ref,
        eval_set_sha256=eval_set.sha256,
        eval_set_path=str(eval_set.path),
        flow_run_id=flow_run_id,
        params=params,
    )
    extra = {"output_check": {"passed": run.outputs_ok, "failures": run.output_failures}}
    return log_eval_run(registry, info, run.summary, run.results, extra=extra)


# --- the comparison artifact ----------------------------------------------------------------------------

_SHOWN = (
    ("hit_at_k", "hit@k"),
    ("mrr", "MRR"),
    ("ndcg_at_k", "nDCG@k"),
    ("exact_match", "exact match"),
    ("token_f1", "token F1"),
    ("rouge_l", "ROUGE-L"),
    ("embedding_similarity", "embedding similarity"),
    ("groundedness", "groundedness"),
)


def comparison_rows(runs: list[CandidateRun]) -> list[dict[str, Any]]:
    """One row per candidate: what it is, every metric, latency, cost, errors, checks, MLflow run."""
    rows = []
    for run in runs:
        entry, summary = run.candidate.entry, run.summary
        rows.append(
            {
                "candidate": entry.ref,
                "asked_as": run.candidate.ref,
                "aliases": ", ".join(entry.aliases),
                "kind": entry.spec.kind,
                **{name: round(summary.metrics.get(name, 0.0), 4) for name, _ in _SHOWN},
                "latency_p50_ms": round(summary.latency_p50_ms, 1),
                "latency_p95_ms": round(summary.latency_p95_ms, 1),
                "tokens": summary.tokens,
                "cost_per_request": summary.cost_per_request,
                "cost_per_correct": summary.cost_per_correct,
                "errors": summary.errors,
                "output_check": "pass" if run.outputs_ok else "fail",
                "mlflow_run_id": run.run_id,
            }
        )
    return rows


def comparison_markdown(eval_set: EvalSet, runs: list[CandidateRun], k: int) -> str:
    """Candidates side by side: one column each, one row per number."""
    heads = [run.candidate.entry.ref for run in runs]
    lines = [
        f"# Evaluation on `{eval_set.path.name}` ({len(eval_set)} examples, set {eval_set.short_hash})",
        "",
        f"sha256 `{eval_set.sha256}`, k = {k}. Each candidate answered through the gateway, pinned to its "
        "version.",
        "",
        "| | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
        "| aliases | " + " | ".join(", ".join(r.candidate.entry.aliases) or "-" for r in runs) + " |",
    ]
    for name, label in _SHOWN:
        values = [r.summary.metrics.get(name, 0.0) for r in runs]
        best = max(values) if values else 0.0
        lines.append(f"| {label} | " + " | ".join(_best(v, best, len(runs)) for v in values) + " |")
    lines += [
        "| latency p50 / p95 (ms) | "
        + " | ".join(f"{r.summary.latency_p50_ms:.0f} / {r.summary.latency_p95_ms:.0f}" for r in runs)
        + " |",
        "| tokens | " + " | ".join(str(r.summary.tokens) for r in runs) + " |",
        "| cost per request (USD) | " + " | ".join(f"{r.summary.cost_per_request:.6f}" for r in runs) + " |",
        "| cost per correct (USD) | " + " | ".join(_money(r.summary.cost_per_correct) for r in runs) + " |",
        "| errors | " + " | ".join(f"{r.summary.errors} / {r.summary.n}" for r in runs) + " |",
        "| output check | " + " | ".join("pass" if r.outputs_ok else "**fail**" for r in runs) + " |",
        "| MLflow run | " + " | ".join(f"`{r.run_id}`" for r in runs) + " |",
    ]
    for run in runs:
        if run.output_failures:
            lines += ["", f"## Output check failures of {run.candidate.entry.ref}", ""]
            lines += [f"- {_cell(failure)}" for failure in run.output_failures[:50]]
    return "\n".join(lines)


def _best(value: float, best: float, columns: int) -> str:
    text = f"{value:.3f}"
    return f"**{text}**" if columns > 1 and value == best else text


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@task(name="publish-comparison", cache_policy=NO_CACHE)
def publish_comparison(eval_set: EvalSet, runs: list[CandidateRun], k: int) -> None:
    """The side-by-side report (markdown) and the same numbers as a table, under the eval set's keys."""
    create_markdown_artifact(
        comparison_markdown(eval_set, runs, k),
        key=evaluation_key(eval_set.sha256),
        description=f"Candidates compared on eval set {eval_set.path.name} ({eval_set.short_hash})",
    )
    create_table_artifact(
        comparison_rows(runs) or {"candidate": []},
        key=evaluation_key(eval_set.sha256, "table"),
        description=f"Candidates' numbers on eval set {eval_set.path.name} ({eval_set.short_hash})",
    )
