"""`genai usage list` and `genai audit verify/list` in process, over a ledger and an audit log that a
real gateway wrote to the embedded SQLite database of the test's own GENAI_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from genai.accesskeys import create_key
from genai.cli.main import app
from genai.db import get_engine
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream
from tests.gateway.accounting.conftest import accounting_settings, serving

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})  # wide enough for whole cells


@pytest.fixture
def ledger_home(genai_home: Path, echo_upstream: EchoUpstream) -> Path:
    """GENAI_HOME after 3 chat requests (2 from tenant acme, 1 from secret) and one refused."""
    url = f"sqlite:///{genai_home / 'genai.db'}"
    settings = accounting_settings(genai_home, url, echo_upstream.url)
    acme, secret = create_key(settings, "acme").key, create_key(settings, "secret").key
    body = {"model": CHAT_MODEL, "messages": USER}
    with serving(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        for key in (acme, acme, secret, None):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            client.post("/v1/chat/completions", json=body, headers=headers)
    return genai_home


def test_usage_list_json_filters_and_totals(ledger_home: Path) -> None:
    result = cli("usage", "list", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["records"]) == 4 and payload["totals"]["requests"] == 4
    assert payload["totals"]["unpriced"] == 1  # the refused request named no model the gateway knew
    assert payload["totals"]["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0 for r in payload["records"]))
    acme = json.loads(cli("usage", "list", "--tenant", "acme", "--json").stdout)
    assert [r["tenant"] for r in acme["records"]] == ["acme", "acme"]
    assert len(json.loads(cli("usage", "list", "--limit", "1", "--json").stdout)["records"]) == 1
    assert len(json.loads(cli("usage", "list", "--model", CHAT_MODEL, "--json").stdout)["records"]) == 3
    assert json.loads(cli("usage", "list", "--since", "1h", "--json").stdout)["totals"]["requests"] == 4
    future = json.loads(cli("usage", "list", "--since", "2999-01-01", "--json").stdout)
    assert future["records"] == [] and future["totals"]["requests"] == 0


def test_usage_list_table(ledger_home: Path) -> None:
    result = cli("usage", "list")
    assert result.exit_code == 0, result.output
    assert "4 of 4 request(s)" in result.stdout and CHAT_MODEL in result.stdout
    assert "$0.0000" in result.stdout and "unpriced" in result.stdout


def test_usage_list_bad_since_is_a_clear_error(genai_home: Path) -> None:
    result = cli("usage", "list", "--since", "yesterday-ish")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--since 'yesterday-ish' is neither a duration" in result.stderr


def test_audit_verify_intact_then_broken(ledger_home: Path) -> None:
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 4 entries; head: seq 4" in result.stdout
    with get_engine(f"sqlite:///{ledger_home / 'genai.db'}").begin() as connection:
        connection.execute(text("UPDATE audit_log SET tenant = 'someone-else' WHERE seq = 2"))
    broken = cli("audit", "verify")
    assert broken.exit_code == 1 and "Traceback" not in broken.output
    assert "audit chain BROKEN at seq 2 (entry_hash)" in broken.stderr
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert report["ok"] is False and report["broken"]["seq"] == 2 and report["entries"] == 1


def test_audit_list(ledger_home: Path) -> None:
    entries = json.loads(cli("audit", "list", "--json").stdout)
    assert [entry["seq"] for entry in entries] == [4, 3, 2, 1]
    assert sorted(entry["decision"] for entry in entries) == ["allowed", "allowed", "allowed", "refused"]
    assert [e["has_content"] for e in entries if e["tenant"] == "secret"] == [True]
    table = cli("audit", "list", "--tenant", "acme")
    assert table.exit_code == 0 and "2 audit entries" in table.stdout
