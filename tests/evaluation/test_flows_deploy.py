"""deployments/prefect.yaml's evaluation and promotion entries, deployed for real with `prefect deploy`
onto the session's Prefect server: the nightly schedule, the concurrency limit that keeps scheduled runs
from overlapping, and the on-demand deployments with the flows' parameter forms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orchestration.test_orchestration import api

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_prefect_deploy_creates_the_evaluation_deployments(prefect_api_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api_url,
        "GENAI_PROJECT_DIR": str(REPO),
        "GENAI_IMAGE": "x",
    }
    prefect = [sys.executable, "-m", "prefect"]
    subprocess.run(
        [*prefect, "work-pool", "create", "genai-process", "--type", "process", "--overwrite"],
        env=env,
        check=True,
        capture_output=True,
    )
    names = ["evaluate", "evaluate-nightly", "promote"]
    deploy = subprocess.run(
        [
            *prefect,
            "--no-prompt",
            "deploy",
            *(f"--name={n}" for n in names),
            "--prefect-file",
            "deployments/prefect.yaml",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    nightly = api(prefect_api_url, "GET", "/deployments/name/evaluate/evaluate-nightly")
    assert nightly["work_pool_name"] == "genai-process"
    [schedule] = nightly["schedules"]
    assert schedule["schedule"]["cron"] == "0 2 * * *" and schedule["schedule"]["timezone"] == "UTC"
    assert schedule["active"] is True
    assert nightly["global_concurrency_limit"]["limit"] == 1
    assert nightly["concurrency_options"]["collision_strategy"] == "ENQUEUE"

    on_demand = api(prefect_api_url, "GET", "/deployments/name/evaluate/evaluate")
    assert on_demand["schedules"] == [] and on_demand["global_concurrency_limit"] is None
    assert on_demand["entrypoint"] == "flows/evaluate.py:evaluate"
    promote = api(prefect_api_url, "GET", "/deployments/name/promote/promote")
    form = promote["parameter_openapi_schema"]
    assert form["required"] == ["model"] and list(form["properties"]) == ["model", "version", "eval_set"]
