"""The ledger and the audit log through a real gateway over HTTP, on SQLite and on PostgreSQL: one usage
row per API request whatever its status, priced; audit entries that chain, break where SQL edits them,
and keep a tenant's prompts and answers only encrypted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from gateway.policies.audit import AuditConfigError, AuditPolicy
from genai.accesskeys import create_key
from genai.accounting.audit import verify_chain
from genai.db import AuditEntryRow, UsageRow, dispose_engine, get_engine
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream
from tests.gateway.accounting.conftest import CONTENT_KEY, accounting_settings, serving


def _chat(client: httpx.Client, key: str | None, model: str = CHAT_MODEL, **extra: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": USER, **extra}
    return client.post("/v1/chat/completions", json=body, headers=headers)


def _stream_text(response: httpx.Response) -> str:
    parts = []
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices") or ():
                parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts)


def _traffic(settings: Settings) -> dict[str, Any]:
    """Requests of every kind through the gateway; what each answered, by request id."""
    acme = create_key(settings, "acme").key
    narrow = create_key(settings, "acme", models=["some-other-model"]).key
    secret = create_key(settings, "secret").key
    answers: dict[str, httpx.Response] = {}
    with serving(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        requests = [
            ("ok", lambda: _chat(client, acme)),
            ("ok2", lambda: _chat(client, acme, max_tokens=3)),
            ("stream", lambda: _chat(client, acme, stream=True)),
            ("no_key", lambda: _chat(client, None)),
            ("bad_key", lambda: _chat(client, "gk_not_a_key_at_all")),
            ("forbidden", lambda: _chat(client, narrow)),
            ("unknown_model", lambda: _chat(client, acme, model="no-such-model")),
            ("models", lambda: client.get("/v1/models", headers={"Authorization": f"Bearer {acme}"})),
            ("secret", lambda: _chat(client, secret)),
            ("secret_stream", lambda: _chat(client, secret, stream=True)),
        ]
        for name, send in requests:
            answers[name] = send()
        assert client.get("/healthz").status_code == 200  # not an API request: in neither log
        metrics = client.get("/metrics").text
    return {"answers": answers, "metrics": metrics, "acme": acme}


EXPECTED_STATUS = {
    "ok": 200,
    "ok2": 200,
    "stream": 200,
    "no_key": 401,
    "bad_key": 401,
    "forbidden": 403,
    "unknown_model": 404,
    "models": 200,
    "secret": 200,
    "secret_stream": 200,
}


@pytest.fixture
def traffic(tmp_path: Path, database_url: str, echo_upstream: EchoUpstream) -> Iterator[dict[str, Any]]:
    settings = accounting_settings(tmp_path / "home", database_url, echo_upstream.url)
    result = _traffic(settings)
    result["settings"] = settings
    result["url"] = database_url
    answers = result["answers"]
    assert {name: answer.status_code for name, answer in answers.items()} == EXPECTED_STATUS
    result["ids"] = {name: answer.headers["x-request-id"] for name, answer in answers.items()}
    yield result
    dispose_engine(database_url)


def _usage_rows(url: str) -> dict[str, Any]:
    with get_engine(url).connect() as connection:
        return {row.request_id: row for row in connection.execute(select(UsageRow))}


def _audit_rows(url: str) -> list[Any]:
    with get_engine(url).connect() as connection:
        return list(connection.execute(select(AuditEntryRow).order_by(AuditEntryRow.seq)))


def test_one_priced_usage_row_per_request(traffic: dict[str, Any]) -> None:
    rows = _usage_rows(traffic["url"])
    ids = traffic["ids"]
    assert set(rows) == set(ids.values())  # every API request, errors included; no probe
    for name, request_id in ids.items():
        assert rows[request_id].status == EXPECTED_STATUS[name]
    ok = rows[ids["ok"]]
    usage = traffic["answers"]["ok"].json()["usage"]
    assert (ok.prompt_tokens, ok.completion_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])
    assert ok.tenant == "acme" and ok.key_prefix and traffic["acme"].startswith(ok.key_prefix)
    assert ok.model == CHAT_MODEL and ok.upstream == "echo" and ok.attempts == 1 and ok.latency_ms > 0
    assert ok.cost_usd == pytest.approx((usage["prompt_tokens"] * 2 + usage["completion_tokens"] * 8) / 1e6)
    assert ok.price_version == "test-1"
    stream = rows[ids["stream"]]
    assert stream.stream is True and stream.completion_tokens and stream.cost_usd and stream.cost_usd > 0
    assert stream.ttft_ms is not None
    no_key = rows[ids["no_key"]]
    assert no_key.tenant is None and no_key.error_type and no_key.cost_usd is None  # no model known
    forbidden = rows[ids["forbidden"]]
    assert forbidden.tenant == "acme" and forbidden.cost_usd == 0.0  # priced, but nothing was asked
    unknown = rows[ids["unknown_model"]]
    assert unknown.model == "no-such-model" and unknown.cost_usd is None and unknown.price_version is None


def test_prometheus_counts_cost_and_backlog(traffic: dict[str, Any]) -> None:
    metrics = traffic["metrics"]
    series = f'genai_gateway_cost_usd_total{{model="{CHAT_MODEL}"}}'
    cost = [line for line in metrics.splitlines() if line.startswith(series)]
    assert cost and float(cost[0].split()[-1]) > 0
    assert 'genai_gateway_ledger_backlog_rows{log="ledger"}' in metrics
    assert 'genai_gateway_tokens_total{kind="prompt",model="tiny-chat"}' in metrics


def test_audit_entries_decide_and_chain(traffic: dict[str, Any]) -> None:
    entries = _audit_rows(traffic["url"])
    by_id = {entry.request_id: entry for entry in entries}
    ids = traffic["ids"]
    assert set(by_id) == set(ids.values())
    assert [entry.seq for entry in entries] == list(range(1, len(ids) + 1))
    decisions = {name: by_id[request_id].decision for name, request_id in ids.items()}
    assert decisions == {
        **{name: "allowed" for name in ("ok", "ok2", "stream", "models", "secret", "secret_stream")},
        "no_key": "refused",
        "bad_key": "refused",
        "forbidden": "refused",
        "unknown_model": "allowed",  # access let it through; its status says how it ended
    }
    assert by_id[ids["no_key"]].actor == "anonymous"
    assert traffic["acme"].startswith(by_id[ids["ok"]].actor)
    assert by_id[ids["ok"]].route == "/v1/chat/completions" and by_id[ids["ok"]].tenant == "acme"
    report = verify_chain(traffic["url"])
    assert report.ok and report.entries == len(ids) and report.head_seq == len(ids)


def test_edited_audit_row_is_found_at_its_seq(traffic: dict[str, Any]) -> None:
    refused = next(entry.seq for entry in _audit_rows(traffic["url"]) if entry.decision == "refused")
    with get_engine(traffic["url"]).begin() as connection:  # someone hides a refusal
        connection.execute(text("UPDATE audit_log SET decision = 'allowed' WHERE seq = :s"), {"s": refused})
    report = verify_chain(traffic["url"])
    assert not report.ok and report.broken is not None
    assert (report.broken.seq, report.broken.problem) == (refused, "entry_hash")
    assert report.entries == refused - 1


def test_rehashed_audit_row_breaks_the_next_link(traffic: dict[str, Any]) -> None:
    from genai.accounting.chain import HASHED_FIELDS, entry_hash

    row = _audit_rows(traffic["url"])[4]
    fields = {name: getattr(row, name) for name in HASHED_FIELDS} | {"status": 200}
    forged = entry_hash(row.prev_hash, fields)  # the forger recomputes this row's hash, not the next
    with get_engine(traffic["url"]).begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET status = 200, entry_hash = :h WHERE seq = 5"), {"h": forged}
        )
    report = verify_chain(traffic["url"])
    assert report.broken is not None and (report.broken.seq, report.broken.problem) == (6, "prev_hash")


def test_deleted_audit_row_is_found_at_its_seq(traffic: dict[str, Any]) -> None:
    with get_engine(traffic["url"]).begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    report = verify_chain(traffic["url"])
    assert report.broken is not None and (report.broken.seq, report.broken.problem) == (2, "missing")


def test_content_is_stored_encrypted_for_the_tenant_that_asks(traffic: dict[str, Any]) -> None:
    by_id = {entry.request_id: entry for entry in _audit_rows(traffic["url"])}
    ids, answers = traffic["ids"], traffic["answers"]
    kept = {name for name, request_id in ids.items() if by_id[request_id].content is not None}
    assert kept == {"secret", "secret_stream"}
    fernet = Fernet(CONTENT_KEY.encode())
    raw = bytes(by_id[ids["secret"]].content)
    assert b"hello big world" not in raw and b"messages" not in raw
    content = json.loads(fernet.decrypt(raw))
    assert content["prompt"] == USER
    assert content["answer"] == [answers["secret"].json()["choices"][0]["message"]["content"]]
    streamed = json.loads(fernet.decrypt(bytes(by_id[ids["secret_stream"]].content)))
    assert streamed["prompt"] == USER and streamed["answer"] == _stream_text(answers["secret_stream"])


def test_content_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    settings = accounting_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", "http://127.0.0.1:9")
    settings.accounting.content_key = None
    with pytest.raises(AuditConfigError, match=r"tenants \['secret'\] set store_content.*content_key"):
        AuditPolicy.from_settings(settings)
    settings.tenants["secret"].store_content = False
    assert AuditPolicy.from_settings(settings).cipher is None


def test_rate_limited_requests_are_recorded_as_limited(
    tmp_path: Path, database_url: str, echo_upstream: EchoUpstream
) -> None:
    settings = accounting_settings(
        tmp_path / "home", database_url, echo_upstream.url, policies=["auth", "limits", "ledger", "audit"]
    )
    settings.limits = settings.limits.model_validate(
        {"backend": "memory", "tiers": {"default": {"requests_per_minute": 2, "tokens_per_minute": None}}}
    )
    key = create_key(settings, "acme").key
    with serving(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        answers = [_chat(client, key) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 429, 429]
    ids = [answer.headers["x-request-id"] for answer in answers]
    rows = _usage_rows(database_url)
    assert [rows[request_id].status for request_id in ids] == [200, 200, 429, 429]
    assert rows[ids[3]].tenant == "acme" and rows[ids[3]].cost_usd == 0.0 and rows[ids[3]].attempts == 0
    by_id = {entry.request_id: entry for entry in _audit_rows(database_url)}
    assert [by_id[request_id].decision for request_id in ids] == ["allowed", "allowed", "limited", "limited"]
    assert verify_chain(database_url).ok
    dispose_engine(database_url)
