"""The `genai` command line: fast help, settings shown with secrets masked, clear errors for bad input,
and the ingest / search / quarantine commands end to end (in-process, against the session's Prefect
test server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genai.cli.main import app
from genai.settings import Settings, get_settings
from tests.fixtures.documents import write_bad_inputs, write_good_corpus

runner = CliRunner()
HEAVY_MODULES = (
    "torch",
    "prefect",
    "sentence_transformers",
    "great_expectations",
    "qdrant_client",
    "mlflow",
    "transformers",
    "pandas",
    "sqlalchemy",
)


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys; from genai.cli.main import app; "
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "search", "quarantine", "config", "up", "demo"):
        assert command in result.stdout


def test_config_show_masks_secrets(genai_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_DATABASE_URL", "postgresql+psycopg://app:hunter2@db.internal:5432/genai")
    monkeypatch.setenv("GENAI_QDRANT__API_KEY", "qdrant-secret-key")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["database_url"] == "postgresql+psycopg://app:****@db.internal:5432/genai"
    assert "hunter2" not in result.stdout and "qdrant-secret-key" not in result.stdout
    assert shown["home"] == str(genai_home)


def test_config_merges_yaml_file_and_environment(
    genai_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "platform.yaml"
    config.write_text(
        "chunking:\n  chunk_tokens: 100\n  overlap_tokens: 10\nqdrant:\n  url: http://qdrant:6333\n"
    )
    monkeypatch.setenv("GENAI_CONFIG", str(config))
    monkeypatch.setenv("GENAI_CHUNKING__OVERLAP_TOKENS", "20")
    shown = json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)
    assert shown["chunking"]["chunk_tokens"] == 100  # from the file
    assert shown["chunking"]["overlap_tokens"] == 20  # the environment wins over the file
    assert shown["qdrant"]["url"] == "http://qdrant:6333" and shown["qdrant"]["path"] is None


def test_config_show_lists_every_section(genai_home: Path) -> None:
    shown = json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)
    assert list(shown) == list(Settings.model_fields)
    assert shown["batch"]["storage"] == "local" and shown["batch"]["deployment"] == "serve_batch/serve-batch"
    assert shown["registry"]["poll_seconds"] == 2.0 and shown["registry"]["gates"]["tolerance"] == 0.02
    as_yaml = runner.invoke(app, ["config", "show"])
    assert as_yaml.exit_code == 0
    assert "\nbatch:\n" in as_yaml.stdout and "  storage: local\n" in as_yaml.stdout


def test_invalid_settings_name_the_field(genai_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_CHUNKING__CHUNK_TOKENS", "lots")
    result = runner.invoke(app, ["ingest", ".", "--kb", "x"])
    assert result.exit_code == 2
    assert "chunking.chunk_tokens" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["ingest", "/no/such/folder", "--kb", "docs"], "does not exist"),
        (["ingest", ".", "--kb", "Bad Name!"], "--kb: knowledge base names use lowercase"),
        (["search", "--kb", "never-ingested", "anything"], "does not exist"),
        (["search", "--kb", "docs", "--filter", "nonsense", "q"], "KEY=VALUE"),
    ],
)
def test_bad_input_gets_a_clear_message_not_a_traceback(
    genai_home: Path, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("prefect_api_url")
def test_ingest_json_then_search_then_quarantine_list(genai_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    good = write_good_corpus(source)
    bad = write_bad_inputs(source)

    result = runner.invoke(app, ["ingest", str(source), "--kb", "cli", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["new"], summary["quarantined"]) == (len(good), len(bad))
    assert summary["chunks"] == summary["total_chunks"] > 0

    result = runner.invoke(app, ["search", "--kb", "cli", "incident severity matrix", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and hits[0]["doc_id"] == "handbook.pdf"
    assert hits[0]["citation"].startswith("handbook.pdf#chunk-")

    result = runner.invoke(app, ["search", "--kb", "cli", "incident", "--filter", "type=docx", "--json"])
    assert {hit["doc_id"] for hit in json.loads(result.stdout)} == {"policies/expenses.docx"}

    result = runner.invoke(app, ["quarantine", "list", "--kb", "cli", "--json"])
    listed = {entry["doc_id"]: entry for entry in json.loads(result.stdout)}
    assert set(listed) == set(bad)
    assert all(entry["reason"] and entry["check"] for entry in listed.values())

    table = runner.invoke(app, ["ingest", str(source), "--kb", "cli"])
    assert table.exit_code == 0 and "unchanged" in table.stdout
    get_settings.cache_clear()
