"""`genai keys create/list/revoke` in process against the embedded SQLite database (the test's own
GENAI_HOME), with and without --json, clear errors with exit codes and no traceback; and `genai up` with
authentication on writing and printing a first key that the platform's clients read and a gateway takes."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from genai.accesskeys import find_key_by_hash, hash_key
from genai.cli.main import app
from genai.settings import Settings
from tests.fixtures.gateway import EchoUpstream, free_port
from tests.gateway.auth.conftest import auth_settings, serve

runner = CliRunner()


def keys(*args: str) -> Result:
    return runner.invoke(app, ["keys", *args])


def assert_clear_error(result: Result, code: int, *phrases: str) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_create_prints_the_key_once_and_stores_its_hash(genai_home: Path) -> None:
    result = keys("create", "--tenant", "acme", "--tier", "premium", "--models", "tiny,qa", "--budget", "2.5")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("gk_") and len(key) == 46 and "\n" not in key
    assert "shown only this once" in result.stderr and key[:12] in result.stderr
    info = find_key_by_hash(Settings(home=genai_home), hash_key(key))
    assert info is not None and (info.tenant, info.tier, info.models, info.budget_usd) == (
        "acme",
        "premium",
        ("qa", "tiny"),
        2.5,
    )
    listed = keys("list")
    assert listed.exit_code == 0 and key[:12] in listed.stdout and key not in listed.stdout


def test_json_create_list_and_revoke(genai_home: Path) -> None:
    created = json.loads(
        keys("create", "--tenant", "acme", "--expires", "30d", "--name", "ci", "--json").stdout
    )
    assert created["key"].startswith(created["prefix"]) and created["status"] == "active"
    assert created["name"] == "ci" and created["expires_at"] is not None
    dated = json.loads(keys("create", "--tenant", "globex", "--expires", "2099-01-31", "--json").stdout)
    assert dated["expires_at"].startswith("2099-01-31T00:00:00")
    listed = json.loads(keys("list", "--json").stdout)
    assert [entry["prefix"] for entry in listed] == [created["prefix"], dated["prefix"]]
    assert all("key" not in entry and "key_hash" not in entry for entry in listed)
    assert [e["prefix"] for e in json.loads(keys("list", "--tenant", "globex", "--json").stdout)] == [
        dated["prefix"]
    ]
    revoked = keys("revoke", created["prefix"])
    assert revoked.exit_code == 0 and f"revoked {created['prefix']}" in revoked.stdout
    again = keys("revoke", created["prefix"])
    assert again.exit_code == 0 and "already revoked" in again.stdout
    statuses = {entry["prefix"]: entry["status"] for entry in json.loads(keys("list", "--json").stdout)}
    assert statuses == {created["prefix"]: "revoked", dated["prefix"]: "active"}


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        (
            ["create", "--tenant", "acme", "--tier", "gold"],
            2,
            "unknown tier 'gold'; the tiers in limits.tiers are",
        ),
        (["create", "--tenant", "bad tenant"], 2, "invalid tenant"),
        (["create", "--tenant", "acme", "--expires", "tomorrow"], 2, "--expires 'tomorrow' is not a date"),
        (["create", "--tenant", "acme", "--expires", "2001-01-01"], 2, "is in the past"),
        (["create", "--tenant", "acme", "--budget", "-3"], 2, "budget"),
        (["create", "--tenant", "acme", "--models", ","], 2, "names no model"),
        (["revoke", "gk_missing"], 2, "no key has the prefix 'gk_missing' (`genai keys list` shows them)"),
    ],
)
def test_clear_errors(genai_home: Path, args: list[str], code: int, phrase: str) -> None:
    assert_clear_error(keys(*args), code, phrase)


def test_a_database_that_fails_is_exit_1(genai_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "GENAI_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    )
    assert_clear_error(keys("list"), 1, "the key database could not be used (OperationalError")


def test_genai_up_writes_and_prints_a_first_key(tmp_path: Path, echo_upstream_server: EchoUpstream) -> None:
    """`genai up` stops at its gateway port (taken on purpose) right after making the key: no Prefect
    server has to start for this."""
    home = tmp_path / "home"
    env = {**os.environ, "GENAI_HOME": str(home), "GENAI_AUTH__ENABLED": "true"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [
            sys.executable,
            "-m",
            "genai.cli.main",
            "up",
            "--port",
            str(free_port()),
            "--gateway-port",
            port,
        ]
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 2 and f"127.0.0.1:{port}" in first.stderr, first.stderr
    path = home / "gateway-client.key"
    key = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key in first.stdout and str(path) in first.stdout and "Authorization: Bearer" in first.stdout
    assert key not in second.stdout and path.read_text().strip() == key  # made once

    from tasks.evaluate import client_key

    settings = auth_settings(home, echo_upstream_server.url)
    assert client_key(settings) == key  # what the evaluation flow sends
    with serve(settings) as server:
        assert (
            httpx.get(f"{server.url}/v1/models", headers={"authorization": f"Bearer {key}"}).status_code
            == 200
        )
        assert httpx.get(f"{server.url}/v1/models").status_code == 401
