"""Evaluation runs in MLflow: one run per candidate version and eval set, and reading the latest one back.

A run lives in the experiment ``genai-evaluations``. It is linked to what it measured by tags (the
registered model, the version, the reference the user asked for, the eval set's sha256 and path, the
Prefect flow run); its params say how it ran (k, concurrency, max_tokens, ...); its metrics are every
number of the summary; its artifacts are the per-example table (``eval/examples.json``, an MLflow table the
UI's evaluation view shows) and ``eval/results.json`` (summary and per-example results, what
``latest_eval`` reads back for the gates). The version itself gets ``genai.eval.<set sha12>.<metric>`` and
``genai.eval.<set sha12>.run_id`` tags, so the registry UI and ``genai models show`` show its numbers.

Only ``MlflowClient`` calls are used (explicit run ids, no global active run), so candidates may be logged
from several threads at once. The client and the experiment come from the ``ModelRegistry`` (one store,
artifacts under the registry's artifact root), MLflow's errors become the registry's.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from registry.errors import RegistryError
from registry.mlflow_store import translated

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from genai.evaluation.results import EvalSummary, ExampleResult
    from registry.client import ModelRegistry

EXPERIMENT = "genai-evaluations"
RESULTS_ARTIFACT = "eval/results.json"
TABLE_ARTIFACT = "eval/examples.json"
TAG_MODEL, TAG_VERSION, TAG_REF = "genai.model", "genai.version", "genai.ref"
TAG_SET_SHA, TAG_SET_PATH, TAG_FLOW_RUN = "genai.eval_set.sha256", "genai.eval_set.path", "genai.flow_run_id"


class EvalRunInfo(BaseModel):
    """What one evaluation run measured, and what it is linked to."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    ref: str = Field(description="The reference the user asked for (NAME, NAME@challenger, NAME/N).")
    eval_set_sha256: str
    eval_set_path: str = ""
    flow_run_id: str = ""
    params: dict[str, str | int | float] = Field(default_factory=dict)


class EvalRecord(BaseModel):
    """An evaluation read back: the summary and each example's scores (example id -> metric -> score)."""

    run_id: str
    info: EvalRunInfo
    summary: dict[str, Any]
    scores: dict[str, dict[str, float]]
    errors: dict[str, str] = Field(default_factory=dict)
    started_ms: int = 0

    def summary_model(self) -> EvalSummary:
        from genai.evaluation.results import EvalSummary

        return EvalSummary.model_validate(self.summary)

    def metric_scores(self, metric: str) -> dict[str, float]:
        """One metric's score per example (examples that errored count as 0, as in the summary's means)."""
        return {example: values.get(metric, 0.0) for example, values in self.scores.items()}


def log_eval_run(
    registry: ModelRegistry,
    info: EvalRunInfo,
    summary: EvalSummary,
    results: Sequence[ExampleResult],
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Log one candidate's evaluation as a finished run and tag its model version with the summary;
    returns the run id."""
    client = registry.mlflow_client()
    tags = {
        TAG_MODEL: info.model,
        TAG_VERSION: str(info.version),
        TAG_REF: info.ref,
        TAG_SET_SHA: info.eval_set_sha256,
        TAG_SET_PATH: info.eval_set_path,
        TAG_FLOW_RUN: info.flow_run_id,
        "mlflow.runName": f"{info.model}-v{info.version}-{info.eval_set_sha256[:12]}",
    }
    numbers = summary.flat()
    with translated(RegistryError):
        run_id = str(client.create_run(registry.experiment_id(EXPERIMENT), tags=tags).info.run_id)
        try:
            _log_contents(client, run_id, info, summary, results, numbers, extra)
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    prefix = eval_tag_prefix(info.eval_set_sha256)
    version_tags = {f"{prefix}.{key}": repr(value) for key, value in numbers.items()}
    version_tags[f"{prefix}.run_id"] = run_id
    registry.set_tags(info.model, info.version, version_tags)
    return run_id


def _log_contents(
    client: MlflowClient,
    run_id: str,
    info: EvalRunInfo,
    summary: EvalSummary,
    results: Sequence[ExampleResult],
    numbers: Mapping[str, float],
    extra: Mapping[str, Any] | None,
) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key, value, now, 0) for key, value in numbers.items()],
        params=[Param(key, str(value)) for key, value in info.params.items()],
    )
    client.log_table(run_id, data=example_table(results), artifact_file=TABLE_ARTIFACT)
    payload = {
        "info": info.model_dump(mode="json"),
        "summary": summary.model_dump(mode="json"),
        "results": [result.model_dump(mode="json") for result in results],
        **(dict(extra) if extra else {}),
    }
    client.log_dict(run_id, payload, RESULTS_ARTIFACT)


def eval_tag_prefix(eval_set_sha256: str) -> str:
    """``genai.eval.<set sha12>``: the prefix of a version's tags for its results on one eval set."""
    return f"genai.eval.{eval_set_sha256[:12]}"


def latest_eval(registry: ModelRegistry, name: str, version: int, eval_set_sha256: str) -> EvalRecord | None:
    """The newest finished evaluation of ``name``/``version`` on the eval set, or None."""
    client = registry.mlflow_client()
    query = (
        f"tags.`{TAG_MODEL}` = '{_quoted(name)}' and tags.`{TAG_VERSION}` = '{version}' "
        f"and tags.`{TAG_SET_SHA}` = '{_quoted(eval_set_sha256)}' and attributes.status = 'FINISHED'"
    )
    with translated(RegistryError):
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return None
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=query,
            max_results=1,
            order_by=["attributes.start_time DESC"],
        )
        if not runs:
            return None
        run = runs[0]
        payload = _download_results(client, str(run.info.run_id))
    results = payload["results"]
    return EvalRecord(
        run_id=str(run.info.run_id),
        info=EvalRunInfo.model_validate(payload["info"]),
        summary=payload["summary"],
        scores={str(r["example_id"]): dict(r.get("scores") or {}) for r in results},
        errors={str(r["example_id"]): str(r["error"]) for r in results if r.get("error")},
        started_ms=int(run.info.start_time or 0),
    )


def _download_results(client: MlflowClient, run_id: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="genai-eval-") as folder:
        local = client.download_artifacts(run_id, RESULTS_ARTIFACT, folder)
        loaded: dict[str, Any] = json.loads(Path(local).read_text(encoding="utf-8"))
        return loaded


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def example_table(results: Sequence[ExampleResult]) -> dict[str, list[Any]]:
    """The per-example table, column by column: the question, answers, what was retrieved, every score."""
    metrics = sorted({name for result in results for name in result.scores})
    columns: dict[str, list[Any]] = {
        "example_id": [],
        "question": [],
        "reference_answer": [],
        "answer": [],
        "retrieved_doc_ids": [],
        "latency_ms": [],
        "prompt_tokens": [],
        "completion_tokens": [],
        "cost": [],
        "error": [],
        **{metric: [] for metric in metrics},
    }
    for result in results:
        columns["example_id"].append(result.example_id)
        columns["question"].append(result.question)
        columns["reference_answer"].append(result.reference_answer)
        columns["answer"].append(result.answer)
        columns["retrieved_doc_ids"].append(", ".join(result.retrieved_doc_ids))
        columns["latency_ms"].append(round(result.latency_ms, 2))
        columns["prompt_tokens"].append(result.prompt_tokens)
        columns["completion_tokens"].append(result.completion_tokens)
        columns["cost"].append(result.cost)
        columns["error"].append(result.error or "")
        for metric in metrics:
            columns[metric].append(result.scores.get(metric))
    return columns
