"""`genai models ...` in-process against a real MLflow registry (SQLite under the test's GENAI_HOME): the
three kinds registered from options, list / show / alias / rollback with and without --json, promotion
through the real flow (refused without evaluations), clear errors; and `genai up` running the MLflow UI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from genai.cli.main import app
from genai.settings import Settings
from registry.client import ModelRegistry
from tests.registry.mlflow_template import copy_store, migrated_mlflow_db

__all__ = ["migrated_mlflow_db"]
runner = CliRunner()


@pytest.fixture
def home(genai_home: Path, migrated_mlflow_db: Path) -> Path:
    """A GENAI_HOME whose MLflow store already has MLflow's tables."""
    copy_store(migrated_mlflow_db, genai_home / "mlflow.db")
    return genai_home


def models(*args: str) -> Result:
    return runner.invoke(app, ["models", *args])


def ok_json(*args: str) -> object:
    result = models(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_clear_error(result: Result, code: int, *phrases: str) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not a crash
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def register_three(home: Path) -> None:
    base = ["register", "qa", "--kind", "extractive", "--knowledge-base", "handbook", "--k", "3"]
    assert models(*base, "--description", "answers from the handbook", "--alias", "champion").exit_code == 0
    vllm = ["register", "qa", "--kind", "vllm", "--served-model", "tiny-chat"]
    vllm += ["--worker", "http://127.0.0.1:8101", "--worker", "http://127.0.0.1:8102"]
    vllm += [
        "--vllm-arg",
        "--dtype",
        "--vllm-arg=float32",
        "--context-window",
        "512",
        "--alias",
        "challenger",
    ]
    assert models(*vllm).exit_code == 0
    hosted = ["register", "chat", "--kind", "openai", "--served-model", "gpt-4o-mini"]
    hosted += ["--base-url", "https://api.example.invalid/v1", "--api-key-env", "VENDOR_API_KEY"]
    hosted += ["--price-input", "0.15", "--price-output", "0.6"]
    assert models(*hosted).exit_code == 0


def test_register_each_kind_from_options(home: Path) -> None:
    record = ok_json(
        "register", "qa", "--kind", "vllm", "--served-model", "tiny-chat", "--upstream", "local-vllm",
        "--vllm-arg", "--max-model-len", "--vllm-arg", "512", "--knowledge-base", "handbook",
        "--price-gpu-second", "0.0004", "--alias", "challenger",
    )  # fmt: skip
    assert isinstance(record, dict)
    assert (record["ref"], record["kind"], record["aliases"]) == ("qa/1", "vllm", ["challenger"])
    spec = record["spec"]
    assert spec["upstream"] == "local-vllm" and spec["vllm_args"] == ["--max-model-len", "512"]
    assert spec["retrieval"] == {"knowledge_base": "handbook", "k": 4, "max_context_tokens": None}
    assert spec["price"]["per_gpu_second"] == 0.0004
    assert spec["provenance"]["code_version"] != "unknown"
    assert len(spec["provenance"]["settings_digest"]) == 64

    hosted = ok_json(
        "register", "qa", "--kind", "openai", "--served-model", "gpt-4o-mini",
        "--base-url", "https://api.example.invalid/v1", "--api-key-env", "VENDOR_API_KEY",
        "--context-window", "128000", "--price-input", "0.15", "--price-output", "0.6",
    )  # fmt: skip
    assert isinstance(hosted, dict) and hosted["version"] == 2 and hosted["aliases"] == []
    assert hosted["spec"]["api_key_env"] == "VENDOR_API_KEY"
    assert hosted["spec"]["price"] == {
        "input_per_1m": 0.15, "output_per_1m": 0.6, "per_gpu_second": None,
        "currency": "USD", "table_version": "manual",
    }  # fmt: skip

    text = models("register", "qa", "--kind", "extractive", "--knowledge-base", "handbook")
    assert text.exit_code == 0 and "registered qa/3 (extractive, no LLM)" in text.stdout
    # What the CLI wrote is what the registry serves.
    registry = ModelRegistry.from_settings(Settings(home=home))
    assert [e.spec.kind for e in registry.model("qa").versions.values()] == ["vllm", "openai", "extractive"]
    assert registry.resolve("qa@challenger").version == 1


def test_list_and_show_with_and_without_json(home: Path) -> None:
    register_three(home)
    ModelRegistry.from_settings(Settings(home=home)).set_tags("qa", 2, {"genai.eval.abc.token_f1": "0.42"})
    listed = ok_json("list")
    assert listed == [
        {"name": "chat", "description": "", "versions": [1], "aliases": {}, "champion_kind": None},
        {
            "name": "qa",
            "description": "answers from the handbook",
            "versions": [1, 2],
            "aliases": {"champion": 1, "challenger": 2},
            "champion_kind": "extractive",
        },
    ]
    table = models("list")
    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if " qa " in line)
    assert [cell.strip() for cell in row.split("│")[1:7]] == ["qa", "2", "1", "2", "-", "extractive"]

    shown = ok_json("show", "qa")
    assert isinstance(shown, dict)
    assert [v["ref"] for v in shown["shown"]] == ["qa/1", "qa/2"]
    assert shown["shown"][1]["spec"]["vllm_args"] == ["--dtype", "float32"]
    assert shown["shown"][1]["tags"]["genai.eval.abc.token_f1"] == "0.42"
    one = ok_json("show", "qa@challenger")
    assert isinstance(one, dict) and [v["ref"] for v in one["shown"]] == ["qa/2"]
    text = models("show", "qa")
    assert text.exit_code == 0
    assert "aliases champion=1, challenger=2" in text.stdout
    assert "qa/2 tags:" in text.stdout and "genai.eval.abc.token_f1 = 0.42" in text.stdout
    assert "genai.spec_sha256" not in text.stdout


def test_alias_and_rollback_commands(home: Path) -> None:
    register_three(home)
    moved = ok_json("alias", "qa", "previous-champion", "--version", "2")
    assert moved == {
        "name": "qa",
        "action": "set",
        "before": {"champion": 1, "challenger": 2},
        "after": {"champion": 1, "challenger": 2, "previous-champion": 2},
        "changed": True,
    }
    back = models("rollback", "qa")
    assert back.exit_code == 0, back.output
    assert "qa@champion: 1 -> 2" in back.stdout and "qa@previous-champion: 2 -> (none)" in back.stdout
    assert_clear_error(models("rollback", "qa"), 2, "no previous-champion to roll back to")
    deleted = models("alias", "qa", "challenger", "--delete")
    assert deleted.exit_code == 0 and "qa@challenger: 2 -> (none)" in deleted.stdout
    assert ok_json("list")[1]["aliases"] == {"champion": 2}  # type: ignore[index]


def test_unknown_names_versions_aliases_and_bad_refs_are_clear_errors(home: Path) -> None:
    register_three(home)
    assert_clear_error(models("show", "nope"), 2, "no registered model 'nope'")
    assert_clear_error(models("show", "qa/9"), 2, "no version 9 (versions: 1, 2)")
    assert_clear_error(models("show", "qa@prod"), 2, "unknown alias 'prod'")
    assert_clear_error(models("show", "qa@@x"), 2, "is not a model reference")
    assert_clear_error(models("show", "chat@champion"), 2, "has no champion")
    assert_clear_error(models("alias", "qa", "prod", "--version", "1"), 2, "not an alias the platform uses")
    assert_clear_error(models("alias", "qa", "champion", "--version", "7"), 2, "no version 7")
    assert_clear_error(models("alias", "qa", "champion"), 2, "either --version N or --delete")
    assert_clear_error(models("alias", "chat", "challenger", "--delete"), 2, "has no challenger")
    assert_clear_error(models("rollback", "nope"), 2, "no registered model 'nope'")
    assert_clear_error(models("promote", "nope"), 2, "no registered model 'nope'")
    assert_clear_error(models("promote", "qa", "--version", "5"), 2, "no version 5")
    assert_clear_error(models("promote", "chat"), 2, "has no challenger; pass --version N")
    assert_clear_error(models("promote", "qa", "--eval-set", "/no/such.jsonl"), 2, "is not a file")
    register = ["register", "qa", "--kind"]
    assert_clear_error(models(*register, "gpt"), 2, "--kind must be one of vllm, openai, extractive")
    assert_clear_error(models(*register, "vllm", "--served-model", "m"), 2, "needs an upstream, workers or")
    assert_clear_error(models(*register, "openai", "--base-url", "http://x"), 2, "needs served_model")
    assert_clear_error(models(*register, "extractive"), 2, "give it retrieval")
    assert_clear_error(models(*register, "extractive", "--k", "2"), 2, "--k needs --knowledge-base")
    assert_clear_error(
        models(*register, "extractive", "--knowledge-base", "Bad KB"),
        2,
        "--knowledge-base: String should match",
    )
    assert_clear_error(
        models(*register, "extractive", "--knowledge-base", "kb", "--alias", "prod"), 2, "--alias must be"
    )
    assert_clear_error(
        models("register", "bad name", "--kind", "extractive", "--knowledge-base", "kb"),
        2,
        "not a model name",
    )
    assert ok_json("list")[1]["versions"] == [1, 2]  # type: ignore[index]  # nothing half-registered


def test_an_unreachable_registry_is_a_clear_error(genai_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("GENAI_MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    assert_clear_error(models("list"), 1, "the MLflow registry")


@pytest.mark.slow
def test_promote_runs_the_flow_and_a_refusal_exits_1(home: Path, prefect_api_url: str) -> None:
    register_three(home)
    result = models("promote", "qa", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["decision"], report["version"]) == ("refused", 2)
    assert "has no evaluation on eval set" in report["reason"]
    registry = ModelRegistry.from_settings(Settings(home=home))
    assert registry.model("qa").aliases == {"champion": 1, "challenger": 2}  # nothing moved
    assert registry.version("qa", 2).tags["genai.promotion"].startswith("refused: ")


def test_models_help_is_fast_and_lists_the_commands() -> None:
    code = "import sys; from genai.cli.main import app; print('mlflow' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
    result = runner.invoke(app, ["models", "--help"])
    assert result.exit_code == 0
    for command in ("register", "list", "show", "promote", "rollback", "alias"):
        assert command in result.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_genai_up_runs_the_mlflow_ui_over_the_registry_and_stops_it(home: Path, tmp_path: Path) -> None:
    import time

    from registry.spec import ModelSpec, RetrievalConfig

    extractive = ModelSpec(kind="extractive", retrieval=RetrievalConfig(knowledge_base="handbook"))
    ModelRegistry.from_settings(Settings(home=home)).register("qa", extractive)
    mlflow_port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "PREFECT_HOME"}}
    prefect_port = _free_port()
    env.update(
        GENAI_HOME=str(home), GENAI_PREFECT__PORT=str(prefect_port), GENAI_REGISTRY__UI_PORT=str(mlflow_port)
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "genai.cli.main", "up", "--no-gateway"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{mlflow_port}"
    try:
        deadline = time.monotonic() + 180
        prefect = f"http://127.0.0.1:{prefect_port}/api/health"
        while not (_healthy(f"{base}/health") and _healthy(prefect)) and time.monotonic() < deadline:
            assert up.poll() is None, "genai up exited early"
            time.sleep(0.5)
        time.sleep(2)  # the UI lines are printed once Prefect's server answers
        # The UI's own API reads the platform's store: the model registered above is there.
        found = httpx.get(f"{base}/ajax-api/2.0/mlflow/registered-models/search", timeout=10).json()
        assert [m["name"] for m in found["registered_models"]] == ["qa"]
        assert httpx.get(base, timeout=10).status_code == 200
    finally:
        os.killpg(up.pid, signal.SIGINT)
        output = up.communicate(timeout=90)[0].decode(errors="replace")
    assert f"MLflow UI: http://127.0.0.1:{mlflow_port}" in output, output
    assert not _healthy(f"{base}/health"), "the MLflow server outlived `genai up`"
