"""The database stopped in the middle of 1,000 requests and started again: every request answered,
every request id with exactly one usage record and one audit entry, the chain whole, the spool empty.

The database is a PostgreSQL cluster of the test's own (``private_postgres``), really stopped
(``pg_ctl stop -m fast``, which also cuts the writer's open connections) and started again."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from gateway.telemetry.metrics import REGISTRY
from genai.accounting.audit import verify_chain
from genai.db import AuditEntryRow, UsageRow, dispose_engine, get_engine
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream
from tests.gateway.accounting.conftest import accounting_settings, serving
from tests.gateway.accounting.private_postgres import PrivateCluster

pytestmark = pytest.mark.postgres

TOTAL, STOP_AT, START_AT = 1000, 300, 700


def _failures(log: str) -> float:
    return REGISTRY.get_sample_value("genai_gateway_ledger_write_failures_total", {"log": log}) or 0.0


def _send(client: httpx.Client, count: int) -> list[str]:
    def one(_: int) -> str:
        answer = client.post("/v1/chat/completions", json={"model": CHAT_MODEL, "messages": USER})
        assert answer.status_code == 200, answer.text
        return answer.headers["x-request-id"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def test_database_stopped_mid_run_loses_nothing_and_writes_nothing_twice(
    tmp_path: Path, private_postgres: PrivateCluster, echo_upstream: EchoUpstream
) -> None:
    url = private_postgres.url
    settings = accounting_settings(
        tmp_path / "home",
        url,
        echo_upstream.url,
        policies=["metrics", "ledger", "audit"],
        batch_size=50,
        flush_seconds=0.05,
        replay_seconds=0.3,
    )
    settings.auth.enabled = False  # the keys live in the database this test stops
    spool = tmp_path / "home" / "spool"
    failures_before = _failures("ledger"), _failures("audit")
    ids: list[str] = []
    with serving(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        ids += _send(client, STOP_AT)
        private_postgres.stop()
        ids += _send(client, START_AT - STOP_AT)
        time.sleep(0.5)  # the writers try, fail and spool
        spooled = sorted(path.name for path in (spool / "ledger").glob("*.json"))
        backlog = REGISTRY.get_sample_value("genai_gateway_ledger_backlog_rows", {"log": "ledger"})
        private_postgres.start()
        ids += _send(client, TOTAL - START_AT)
        deadline = time.monotonic() + 30
        while list(spool.rglob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert spooled, "the ledger never spooled: the outage was not seen"
    assert backlog is not None and backlog >= START_AT - STOP_AT  # at least the rows of the outage
    assert _failures("ledger") > failures_before[0] and _failures("audit") > failures_before[1]
    assert len(ids) == len(set(ids)) == TOTAL
    with get_engine(url).connect() as connection:
        written = list(connection.scalars(select(UsageRow.request_id)))
        audited = connection.scalar(select(func.count()).select_from(AuditEntryRow))
    assert len(written) == TOTAL and set(written) == set(ids)  # exactly one record per request id
    assert audited == TOTAL
    report = verify_chain(url)
    assert report.ok and report.entries == TOTAL
    assert list(spool.rglob("*.json")) == []
    dispose_engine(url)
