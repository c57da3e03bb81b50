"""Evaluation runs in a real MLflow store (SQLite in the test's directory): what one run records, the
version's tags, and reading the newest evaluation of a version on a set back for the gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genai.evaluation.eval_set import EvalExample
from genai.evaluation.results import ExampleResult, score_example, summarize
from registry.client import ModelRegistry
from registry.tracking import (
    EXPERIMENT,
    TABLE_ARTIFACT,
    EvalRunInfo,
    latest_eval,
    log_eval_run,
)
from tests.evaluation.flows_env import eval_rows, extractive

SET_A, SET_B = "a" * 64, "b" * 64


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "mlartifacts"))


def scored(answers: list[str], error_at: int | None = None) -> list[ExampleResult]:
    results = []
    for index, (row, answer) in enumerate(zip(eval_rows(), answers, strict=False)):
        example = EvalExample.model_validate(row)
        error = "HTTP 503: busy" if index == error_at else None
        results.append(
            score_example(
                example,
                "" if error else answer,
                [row["relevant_doc_ids"][0], "other.md"],
                [answer, "unrelated text"],
                k=3,
                latency_ms=10.0 + index,
                prompt_tokens=20,
                completion_tokens=8,
                cost=0.001,
                error=error,
            )
        )
    return results


def info(version: int, sha: str = SET_A, **extra: str) -> EvalRunInfo:
    params: dict[str, str | int | float] = {"k": 3, "concurrency": 2, "max_tokens": 64}
    return EvalRunInfo(
        model="qa", version=version, ref=f"qa/{version}", eval_set_sha256=sha, params=params, **extra
    )


def test_one_run_per_candidate_with_tags_metrics_table_and_version_tags(registry: ModelRegistry) -> None:
    entry = registry.register("qa", extractive())
    results = scored([row["reference_answer"] for row in eval_rows()], error_at=2)
    summary = summarize(results, k=3)

    run_id = log_eval_run(
        registry, info(entry.version, flow_run_id="fr-1", eval_set_path="/sets/x.jsonl"), summary, results
    )

    client = registry.mlflow_client()
    run = client.get_run(run_id)
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.info.status == "FINISHED"
    assert run.data.tags["genai.model"] == "qa" and run.data.tags["genai.version"] == str(entry.version)
    assert run.data.tags["genai.eval_set.sha256"] == SET_A
    assert run.data.tags["genai.eval_set.path"] == "/sets/x.jsonl"
    assert run.data.tags["genai.flow_run_id"] == "fr-1"
    assert run.data.params == {"k": "3", "concurrency": "2", "max_tokens": "64"}
    assert run.data.metrics == pytest.approx(summary.flat())
    assert run.data.metrics["errors"] == 1 and run.data.metrics["token_f1"] < 1.0
    # The per-example table is an MLflow table (the UI's evaluation view lists it).
    assert TABLE_ARTIFACT in json.loads(run.data.tags["mlflow.loggedArtifacts"])[0]["path"]
    table = json.loads(
        Path(client.download_artifacts(run_id, TABLE_ARTIFACT, str(registry.artifact_root))).read_text()
    )
    assert table["columns"][:2] == ["example_id", "question"] and len(table["data"]) == len(results)
    assert {"token_f1", "hit_at_k", "error"} <= set(table["columns"])

    tags = registry.version("qa", entry.version).tags
    assert tags[f"genai.eval.{SET_A[:12]}.run_id"] == run_id
    assert float(tags[f"genai.eval.{SET_A[:12]}.token_f1"]) == pytest.approx(summary.metrics["token_f1"])
    assert float(tags[f"genai.eval.{SET_A[:12]}.error_rate"]) == 1 / len(results)


def test_latest_eval_reads_back_the_newest_run_of_a_version_on_a_set(registry: ModelRegistry) -> None:
    first = registry.register("qa", extractive()).version
    second = registry.register("qa", extractive(k=1)).version
    old = scored(["wrong"] * 6)
    new = scored([row["reference_answer"] for row in eval_rows()])
    log_eval_run(registry, info(first), summarize(old, 3), old)
    newest = log_eval_run(registry, info(first), summarize(new, 3), new)
    log_eval_run(registry, info(first, sha=SET_B), summarize(old, 3), old)

    record = latest_eval(registry, "qa", first, SET_A)

    assert record is not None and record.run_id == newest
    assert record.summary_model() == summarize(new, 3)
    assert record.scores == {r.example_id: r.scores for r in new}
    assert record.metric_scores("token_f1") == {r.example_id: 1.0 for r in new}
    assert record.info.ref == f"qa/{first}" and record.errors == {}
    assert latest_eval(registry, "qa", second, SET_A) is None  # never evaluated
    assert latest_eval(registry, "qa", first, "c" * 64) is None  # not on that set
    other_set = latest_eval(registry, "qa", first, SET_B)
    assert other_set is not None and other_set.metric_scores("token_f1") == {r.example_id: 0.0 for r in old}


def test_errors_are_read_back_per_example(registry: ModelRegistry) -> None:
    version = registry.register("qa", extractive()).version
    results = scored([row["reference_answer"] for row in eval_rows()], error_at=0)
    log_eval_run(registry, info(version), summarize(results, 3), results)
    record = latest_eval(registry, "qa", version, SET_A)
    assert record is not None
    assert record.errors == {"leave-days": "HTTP 503: busy"}
    assert record.scores["leave-days"]["token_f1"] == 0.0


def test_no_experiment_yet_means_no_evaluation(registry: ModelRegistry) -> None:
    version = registry.register("qa", extractive()).version
    assert latest_eval(registry, "qa", version, SET_A) is None
