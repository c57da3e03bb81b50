"""``response_format`` against the real vLLM worker (the offline tiny model, tests/fixtures/vllm.py): the
body reaches vLLM as sent, so vLLM's guided decoding shapes the answer; an answer cut short by
``max_tokens`` is invalid JSON whatever the decoding, which shows the retry and the error on a real model,
with both attempts' tokens in the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from genai.llm.worker import WorkerProcess
from genai.settings import Settings
from tests.gateway.output.ledger_rows import ledger_rows
from tests.gateway.output.scripted import serving

pytestmark = pytest.mark.slow

MODEL = "tiny-chat"
MESSAGES = [{"role": "user", "content": "Describe a person as JSON with a name and an age."}]
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
FLAG = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def vllm_settings(home: Path, worker: WorkerProcess) -> Settings:
    worker.ensure_ready()
    gateway = {
        "upstreams": {"vllm": {"workers": [worker.url], "timeout": 120}},
        "models": {MODEL: {"targets": [{"upstream": "vllm", "model": worker.served_model_name}]}},
        "deadline_seconds": 120,
        "policies": ["response_format", "ledger"],
    }
    return Settings.model_validate({"home": home, "gateway": gateway, "accounting": {"flush_seconds": 0.05}})


def body(response_format: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": MESSAGES,
        "response_format": response_format,
        "max_tokens": max_tokens,
        "temperature": 0,
    }


def test_guided_decoding_meets_a_tight_schema_at_once(tmp_path: Path, vllm_worker: WorkerProcess) -> None:
    settings = vllm_settings(tmp_path, vllm_worker)
    schema = {"type": "json_schema", "json_schema": {"name": "flag", "schema": FLAG}}
    with serving(settings) as http:
        answer = http.post("/v1/chat/completions", json=body(schema, 32), timeout=120)
    assert answer.status_code == 200, answer.text
    assert orjson.loads(answer.json()["choices"][0]["message"]["content"]) in ({"ok": True}, {"ok": False})
    row = ledger_rows(settings)[answer.headers["x-request-id"]]
    assert row.response_retries == 0 and row.attempts == 1 and row.guard_events is None


@pytest.mark.parametrize(
    ("response_format", "max_tokens"),
    [
        # Four tokens cannot hold both required keys: invalid by construction, on every attempt.
        ({"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}}, 4),
        # The tiny model (random weights, greedy) never closes a free-form object this soon.
        ({"type": "json_object"}, 16),
    ],
    ids=["json_schema", "json_object"],
)
def test_an_answer_cut_short_is_retried_then_fails(
    tmp_path: Path, vllm_worker: WorkerProcess, response_format: dict[str, Any], max_tokens: int
) -> None:
    settings = vllm_settings(tmp_path, vllm_worker)
    request = body(response_format, max_tokens)
    direct = httpx.post(
        f"{vllm_worker.url}/v1/chat/completions",
        json={**request, "model": vllm_worker.served_model_name},
        timeout=120,
    ).json()
    # vLLM itself: guided decoding starts the JSON, max_tokens cuts it.
    assert direct["choices"][0]["finish_reason"] == "length"
    assert direct["choices"][0]["message"]["content"].startswith("{")
    with serving(settings) as http:
        answer = http.post("/v1/chat/completions", json=request, timeout=120)
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert (
        error["code"] == "response_format_failed"
        and "after 1 retry: the answer is not JSON" in error["message"]
    )
    row = ledger_rows(settings)[answer.headers["x-request-id"]]
    assert row.status == 502 and row.response_retries == 1 and row.attempts == 2
    # Both attempts' tokens: each answer cut at max_tokens; the retry's prompt adds the first answer and
    # the error to the first prompt.
    assert row.completion_tokens == 2 * max_tokens
    assert row.prompt_tokens > 2 * direct["usage"]["prompt_tokens"]
    assert row.guard_events == "output:schema:invalid_json:retry,output:schema:invalid_json:block"
