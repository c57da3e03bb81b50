"""`genai eval run`: the evaluation flow from the command line, with a temporary in-process gateway when
none answers at the settings' address, and clear errors (exit 2, no traceback) for what the user must fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genai.cli.main import app
from tests.evaluation.flows_env import EvaluationEnv, eval_rows, evaluation_env, write_eval_set

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[EvaluationEnv]:
    # No gateway in this process: the command's temporary gateway opens the knowledge base's store.
    yield from evaluation_env(tmp_path_factory, prefect_api_url, gateway=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_eval_run_starts_a_temporary_gateway_and_promotes(env: EvaluationEnv, prefect_api_url: str) -> None:
    champion, challenger = env.register_pair("cli-qa")
    port = free_port()  # nothing answers there: the command must start its own gateway
    command = [sys.executable, "-m", "genai.cli.main", "eval", "run", "--set", str(env.eval_set)]
    command += [
        "--model",
        "cli-qa",
        "--model",
        "cli-qa@challenger",
        "--concurrency",
        "2",
        "--promote",
        "--json",
    ]
    done = subprocess.run(
        command,
        env={**os.environ, "PREFECT_API_URL": prefect_api_url, "GENAI_GATEWAY__PORT": str(port)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"no gateway answers at 127.0.0.1:{port}: starting a temporary one" in done.stderr
    result = json.loads(done.stdout)
    assert {row["candidate"] for row in result["candidates"]} == {
        f"cli-qa/{champion}",
        f"cli-qa/{challenger}",
    }
    assert all(row["errors"] == 0 and row["hit_at_k"] == 1.0 for row in result["candidates"])
    [promotion] = result["promotions"]
    assert promotion["decision"] == "promoted" and promotion["version"] == challenger
    assert env.registry.model("cli-qa").aliases["champion"] == challenger
    assert not listening(port) and not listening(int(result["gateway_url"].rsplit(":", 1)[1]))


def test_eval_run_prints_the_candidates_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    from genai.cli.eval_cmd import _print

    row = {
        "candidate": "qa/2",
        "aliases": "challenger",
        **dict.fromkeys(
            ["hit_at_k", "mrr", "ndcg_at_k", "exact_match", "token_f1", "rouge_l", "embedding_similarity"],
            0.5,
        ),
        "groundedness": 0.25,
        "latency_p50_ms": 12.0,
        "latency_p95_ms": 30.0,
        "cost_per_request": 0.0001,
        "errors": 1,
        "output_check": "fail",
        "mlflow_run_id": "0123456789abcdef",
    }
    _print({"eval_set": "/x/set.jsonl", "sha256": "f" * 64, "candidates": [row], "promotions": []})
    shown = capsys.readouterr().out
    assert "set.jsonl (set ffffffffffff)" in shown and "qa/2" in shown and "challenger" in shown
    assert "0.250" in shown and "12 / 30" in shown and "0123456789ab" in shown and "fail" in shown


def test_eval_run_names_what_to_fix(env: EvaluationEnv, tmp_path: Path) -> None:
    runner = CliRunner()

    missing = runner.invoke(app, ["eval", "run", "--set", str(tmp_path / "nope.jsonl"), "--model", "qa"])
    assert missing.exit_code == 2 and "nope.jsonl does not exist" in missing.output

    rows = eval_rows()
    rows[2]["relevant_doc_ids"] = []
    bad = runner.invoke(app, ["eval", "run", "--set", str(write_eval_set(tmp_path / "bad.jsonl", rows))])
    assert bad.exit_code == 2 and "1 bad row(s)" in bad.output and "line 3: relevant_doc_ids" in bad.output

    unknown = runner.invoke(app, ["eval", "run", "--set", str(env.eval_set), "--model", "ghost"])
    assert unknown.exit_code == 2 and "no registered model 'ghost'" in unknown.output
    malformed = runner.invoke(app, ["eval", "run", "--set", str(env.eval_set), "--model", "a b"])
    assert malformed.exit_code == 2 and "'a b' is not a model reference" in malformed.output
    assert "Traceback" not in unknown.output + malformed.output + bad.output
