"""`genai report cost` in process over the test home's SQLite ledger: JSON totals equal a hand-written
query, the CSV holds every breakdown, the tables name the period, and a bad period is a one-line error."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from genai.cli.main import app
from genai.db import get_engine
from genai.settings import get_settings
from tests.reports.ledger_data import NOV, insert, ledger_row, mixed_rows

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def ledger_url(genai_home: Path) -> str:
    url = get_settings().sql_url
    insert(url, mixed_rows(500, NOV, timedelta(days=30)))
    insert(url, [ledger_row(9000, NOV - timedelta(days=2), cost_usd=2.5)])  # October: the previous period
    return url


def test_json_totals_equal_a_hand_written_query(ledger_url: str) -> None:
    result = cli("report", "cost", "--period", "2026-11", "--json", "--no-registry")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    with get_engine(ledger_url).connect() as connection:
        count, cost = connection.execute(
            text("SELECT COUNT(*), SUM(cost_usd) FROM usage_records WHERE created_at >= '2026-11-01'")
        ).one()
    assert report["totals"]["requests"] == count == 500
    assert report["totals"]["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert report["previous"]["cost_usd"] == pytest.approx(2.5)
    assert report["quality_failures"] == []  # the suite ran (--checks is the default) and passed


def test_csv_export_and_tables(ledger_url: str, tmp_path: Path) -> None:
    target = tmp_path / "out" / "november.csv"
    result = cli(
        "report", "cost", "--period", "2026-11", "--csv", str(target), "--no-registry", "--no-checks"
    )
    assert result.exit_code == 0, result.output
    assert "Cost report 2026-11 (month)" in result.stdout and f"CSV written to {target}" in result.stdout
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["dimension"] == "total" and int(rows[0]["requests"]) == 500
    tenants = [row for row in rows if row["dimension"] == "tenant"]
    assert sum(int(row["requests"]) for row in tenants) == 500
    assert {row["dimension"] for row in rows} >= {"tenant", "key", "model", "version", "route", "endpoint"}


def test_a_bad_period_is_one_line_not_a_traceback(genai_home: Path) -> None:
    result = cli("report", "cost", "--period", "2026-13")
    assert result.exit_code == 2
    assert "not a real month, week or day" in result.stderr and "Traceback" not in result.output
