"""The registry, evaluation and promotion end to end, as a team would run them: the extractive baseline and
the tiny model on a real vLLM worker registered under one name, both evaluated through a running gateway,
the gates promoting the better one, the gateway then serving it under the bare name; a candidate that
fails a gate leaves the champion in place; `genai models rollback` restores the previous champion; an alias
moved with MlflowClient directly reaches the running gateway within 10 s.

The tiny model's text is gibberish, so the extractive baseline is the better candidate on real numbers
(token F1 and the rest), not by a rigged gate.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from flows.evaluate import evaluate
from genai.cli.main import app
from genai.llm.worker import WorkerProcess
from registry.spec import ModelSpec, RetrievalConfig
from tests.evaluation.flows_env import KB, EvaluationEnv, evaluation_env, extractive

NAME = "handbook-qa"
VERSION_HEADER = "x-genai-model-version"
ALIAS_DEADLINE_S = 10.0


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[EvaluationEnv]:
    yield from evaluation_env(tmp_path_factory, prefect_api_url)


def tiny_on_vllm(worker: WorkerProcess) -> ModelSpec:
    return ModelSpec(
        kind="vllm",
        workers=(worker.url,),
        served_model="tiny",
        context_window=512,
        retrieval=RetrievalConfig(knowledge_base=KB, k=3),
        vllm_args=("--max-model-len", "512", "--dtype", "float32", "--enforce-eager"),
    )


def served_version(env: EvaluationEnv, model: str = NAME) -> str | None:
    """The version the gateway answers ``model`` with right now (its x-genai-model-version header)."""
    response = httpx.post(
        f"{env.gateway_url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "How often are passwords rotated?"}],
              "max_tokens": 8, "temperature": 0},
        timeout=30,
    )  # fmt: skip
    # 404 until the gateway's next poll saw the first alias; any other failure is a failure.
    assert response.status_code in (200, 404), response.text
    return response.headers.get(VERSION_HEADER) if response.status_code == 200 else None


def seconds_until_served(env: EvaluationEnv, expected: str, deadline: float = ALIAS_DEADLINE_S) -> float:
    """How long after the call the gateway began answering with ``expected``; fails past ``deadline``."""
    started = time.monotonic()
    while (waited := time.monotonic() - started) < deadline:
        if served_version(env) == expected:
            return waited
        time.sleep(0.1)
    raise AssertionError(f"the gateway answers {served_version(env)}, not {expected}, after {deadline} s")


def test_the_better_model_is_promoted_served_rolled_back_and_moved_by_hand(
    env: EvaluationEnv, vllm_worker: WorkerProcess
) -> None:
    registry = env.registry
    incumbent = registry.register(NAME, tiny_on_vllm(vllm_worker), description="handbook answers").version
    baseline = registry.register(NAME, extractive(k=3)).version
    registry.set_alias(NAME, "champion", incumbent)
    registry.set_alias(NAME, "challenger", baseline)
    seconds_until_served(env, f"{NAME}/{incumbent}")

    # Both evaluated through the gateway; the challenger then goes through the gates.
    both = [NAME, f"{NAME}@challenger"]
    report = evaluate(eval_set=str(env.eval_set), models=both, gateway_url=env.gateway_url, promote=True)
    scores = {row["candidate"]: row["summary"]["metrics"] for row in report["candidates"]}
    assert scores[f"{NAME}/{baseline}"]["token_f1"] > scores[f"{NAME}/{incumbent}"]["token_f1"] + 0.3
    [decision] = report["promotions"]
    assert decision["decision"] == "promoted", decision
    assert dict(registry.model(NAME).aliases) == {"champion": baseline, "previous-champion": incumbent}
    seconds_until_served(env, f"{NAME}/{baseline}")

    # The tiny model again, as a new challenger: its gates fail and nothing moves.
    retry = registry.register(NAME, tiny_on_vllm(vllm_worker)).version
    registry.set_alias(NAME, "challenger", retry)
    report = evaluate(
        eval_set=str(env.eval_set), models=[f"{NAME}@challenger"], gateway_url=env.gateway_url, promote=True
    )
    [refused] = report["promotions"]
    assert refused["decision"] == "refused" and refused["version"] == retry
    failed = {gate["name"] for gate in refused["gates"] if not gate["passed"]}
    assert {"no_regression", "min_score.token_f1"} <= failed
    assert registry.model(NAME).aliases["champion"] == baseline
    assert served_version(env) == f"{NAME}/{baseline}"

    # Rollback through the CLI, as an operator would.
    result = CliRunner().invoke(app, ["models", "rollback", NAME])
    assert result.exit_code == 0, result.output
    assert registry.model(NAME).aliases["champion"] == incumbent
    seconds_until_served(env, f"{NAME}/{incumbent}")

    # An alias moved with MLflow's own client, as the MLflow UI does: a running gateway follows.
    from mlflow import MlflowClient

    MlflowClient(env.settings.mlflow_tracking_uri).set_registered_model_alias(NAME, "champion", str(baseline))
    waited = seconds_until_served(env, f"{NAME}/{baseline}")
    assert waited < ALIAS_DEADLINE_S
