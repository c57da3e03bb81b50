"""An external system drives evaluation and promotion through Prefect's REST API alone: the platform's
deployments (exactly what `genai up` serves) run in a runner process started here, flow runs are created
with POST /deployments/{id}/create_flow_run, polled to COMPLETED, and their artifacts read back over HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genai.evaluation.eval_set import load_eval_set
from tests.evaluation.flows_env import EvaluationEnv, evaluation_env
from tests.orchestration.test_orchestration import api, wait_for, wait_for_final_state

REPO = Path(__file__).resolve().parents[2]
SERVE = (
    "from prefect import serve\n"
    "from genai.orchestration.deployments import platform_deployments\n"
    "serve(*platform_deployments(), pause_on_shutdown=False)\n"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[EvaluationEnv]:
    yield from evaluation_env(tmp_path_factory, prefect_api_url)


@pytest.fixture(scope="module")
def served(env: EvaluationEnv, prefect_api_url: str) -> Iterator[str]:
    """The platform's deployments served by a runner process of their own, as `genai up` serves them;
    yields the API URL once they are registered."""
    runner_env = {**os.environ, "PREFECT_API_URL": prefect_api_url}
    runner = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        env=runner_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _deployment(prefect_api_url, "promote/promote"), 120, "the served deployments")
        yield prefect_api_url
    finally:
        os.killpg(runner.pid, signal.SIGINT)
        try:
            runner.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.communicate()


def _deployment(base: str, name: str) -> dict[str, Any] | None:
    response = httpx.get(f"{base}/deployments/name/{name}", timeout=10)
    return dict(response.json()) if response.status_code == 200 else None


def create_run(base: str, deployment: str, parameters: dict[str, Any]) -> httpx.Response:
    """POST create_flow_run as an external system would (retried on 503, a busy SQLite, as api() is)."""
    deployment_id = api(base, "GET", f"/deployments/name/{deployment}")["id"]
    response = httpx.post(
        f"{base}/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters}, timeout=10
    )
    for _ in range(5):
        if response.status_code != 503:
            break
        response = httpx.post(
            f"{base}/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters}, timeout=10
        )
    return response


def run_artifacts(base: str, run_id: str) -> dict[str, dict[str, Any]]:
    body = {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    return {
        artifact["key"]: artifact
        for artifact in api(base, "POST", "/artifacts/filter", body)
        if artifact["key"]
    }


@pytest.mark.slow
def test_evaluate_then_promote_through_the_rest_api(env: EvaluationEnv, served: str) -> None:
    base = served
    champion, challenger = env.register_pair("api-qa")
    eval_set = load_eval_set(env.eval_set)

    # What the UI's form and the API refuse before any run exists: a malformed model reference.
    refused = create_run(base, "evaluate/evaluate", {"models": ["not a ref"]})
    assert refused.status_code == 409 and "models" in refused.text, refused.text

    evaluation = create_run(
        base,
        "evaluate/evaluate",
        {
            "eval_set": str(env.eval_set),
            "models": ["api-qa", "api-qa@challenger"],
            "gateway_url": env.gateway_url,
        },
    )
    assert evaluation.status_code == 201, evaluation.text
    run_id = evaluation.json()["id"]
    assert wait_for_final_state(base, run_id, 300) == "COMPLETED"
    artifacts = run_artifacts(base, run_id)
    report = artifacts[f"evaluation-{eval_set.short_hash}"]
    assert report["type"] == "markdown"
    assert f"api-qa/{champion}" in report["data"] and f"api-qa/{challenger}" in report["data"]
    assert artifacts[f"evaluation-{eval_set.short_hash}-table"]["type"] == "table"
    for number in (champion, challenger):
        tags = env.registry.version("api-qa", number).tags
        assert f"genai.eval.{eval_set.short_hash}.run_id" in tags

    promotion = create_run(base, "promote/promote", {"model": "api-qa", "eval_set": str(env.eval_set)})
    assert promotion.status_code == 201, promotion.text
    assert wait_for_final_state(base, promotion.json()["id"], 300) == "COMPLETED"
    decision = run_artifacts(base, promotion.json()["id"])["promotion-api-qa"]
    assert decision["data"].startswith(f"# api-qa/{challenger}: promoted to champion"), decision["data"]
    assert dict(env.registry.model("api-qa").aliases) == {
        "champion": challenger,
        "previous-champion": champion,
    }


def test_nightly_evaluation_is_scheduled_and_never_overlaps(served: str) -> None:
    nightly = _deployment(served, "evaluate/evaluate-nightly")
    assert nightly is not None
    assert [schedule["schedule"]["cron"] for schedule in nightly["schedules"]] == ["0 2 * * *"]
    assert nightly["global_concurrency_limit"]["limit"] == 1
    assert nightly["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    on_demand = _deployment(served, "evaluate/evaluate")
    assert on_demand is not None and on_demand["schedules"] == []
    form = on_demand["parameter_openapi_schema"]["properties"]
    assert list(form) == [
        "eval_set",
        "models",
        "gateway_url",
        "concurrency",
        "max_tokens",
        "promote",
        "search_modes",
        "knowledge_base",
    ]
    # A plain field per parameter in the UI, none of them offering "None".
    assert all("anyOf" not in field and field.get("default", "") is not None for field in form.values())
