"""The ``output_filter`` policy through a real gateway over HTTP, in front of the scripted fake upstream:
masks, redacts and blocks in JSON answers and streams (chat and text completions), per tenant, with the
guard events in the usage ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from genai.accesskeys import create_key
from tests.gateway.output.ledger_rows import ledger_rows
from tests.gateway.output.scripted import (
    MODEL,
    Script,
    chat_body,
    output_settings,
    serving,
    stream_chunks,
    stream_text,
)

CHAT = "/v1/chat/completions"
ANSWER = (
    "The Project Nightingale plan is INTERNAL for now: write to jane.doe@example.com and quote "
    "ticket AB-12345; nightingales and internalised notes are fine."
)
MASKED = (
    "The *** plan is *** for now: write to [EMAIL] and quote ticket ***; nightingales and internalised "
    "notes are fine."
)
RULES: dict[str, Any] = {
    "deny_terms": ["project nightingale", "internal"],
    "deny_patterns": [r"AB-\d{5}"],
    "pii": "redact",
    "stream_holdback_chars": 32,
}
EVENTS = "output:content:term:maskx2,output:pii:email:redact,output:content:pattern:mask"


@pytest.mark.parametrize("piece", [1, 3, 7, 40])
def test_fake_upstream_masks_and_redacts_json_and_streams(tmp_path: Path, script: Script, piece: int) -> None:
    settings = output_settings(tmp_path, script, ["output_filter", "ledger"], output=RULES)
    with serving(settings) as http:
        script.say(ANSWER, piece=piece)
        plain = http.post(CHAT, json=chat_body())
        streamed = http.post(CHAT, json=chat_body(stream=True, n=2))
        usage = http.post(CHAT, json=chat_body(stream=True, stream_options={"include_usage": True}))
    assert plain.status_code == 200
    assert plain.json()["choices"][0]["message"]["content"] == MASKED
    assert plain.json()["usage"]["completion_tokens"] == len(ANSWER.split())  # the usage is untouched
    assert stream_text(streamed) == {0: MASKED, 1: MASKED}  # each choice filtered on its own
    chunks = stream_chunks(usage)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(ANSWER.split())
    assert [c["choices"][0].get("finish_reason") for c in chunks[:-1]][-1] == "stop"
    rows = ledger_rows(settings)
    assert rows[plain.headers["x-request-id"]].guard_events == EVENTS
    two = rows[streamed.headers["x-request-id"]].guard_events
    assert two == EVENTS.replace("maskx2", "maskx4").replace("redact", "redactx2").replace(
        "pattern:mask", "pattern:maskx2"
    )


def test_fake_upstream_text_completions_are_filtered_too(tmp_path: Path, script: Script) -> None:
    settings = output_settings(tmp_path, script, ["output_filter"], output=RULES)
    body = {"model": MODEL, "prompt": "tell me"}
    with serving(settings) as http:
        script.say(ANSWER, piece=2)
        plain = http.post("/v1/completions", json=body)
        streamed = http.post("/v1/completions", json={**body, "stream": True})
    assert plain.json()["choices"][0]["text"] == MASKED
    assert stream_text(streamed, chat=False) == {0: MASKED}


def test_fake_upstream_block_withholds_json_and_ends_a_stream(tmp_path: Path, script: Script) -> None:
    output = {"deny_terms": ["nightingale"], "deny_action": "block"}
    settings = output_settings(tmp_path, script, ["output_filter", "ledger"], output=output)
    answer = "Fine words first, then the Nightingale project, and more words after it."
    with serving(settings) as http:
        script.say(answer, piece=4)
        plain = http.post(CHAT, json=chat_body())
        streamed = http.post(CHAT, json=chat_body(stream=True, stream_options={"include_usage": True}))
        script.say("all fine here")
        clean = http.post(CHAT, json=chat_body(stream=True))
    assert plain.status_code == 400
    error = plain.json()["error"]
    assert error["code"] == "content_filtered" and "(term)" in error["message"]
    assert "ightingale" not in plain.text.lower()
    chunks = stream_chunks(streamed)
    text = "".join((c.get("delta") or {}).get("content") or "" for k in chunks for c in k["choices"])
    assert "ightingale" not in text.lower() and "after it" not in text
    reasons = [c["finish_reason"] for k in chunks for c in k["choices"] if c.get("finish_reason")]
    assert reasons == ["content_filter"]  # the upstream's own "stop" never follows
    assert chunks[-1]["usage"]["completion_tokens"] == len(answer.split())  # the usage still goes out
    assert stream_text(clean) == {0: "all fine here"}
    rows = ledger_rows(settings)
    assert rows[plain.headers["x-request-id"]].guard_events == "output:content:term:block"
    assert rows[plain.headers["x-request-id"]].status == 400
    assert rows[streamed.headers["x-request-id"]].guard_events == "output:content:term:block"


def test_fake_upstream_each_tenant_gets_its_own_rules(tmp_path: Path, script: Script) -> None:
    settings = output_settings(
        tmp_path,
        script,
        ["auth", "output_filter"],
        auth={"enabled": True},
        output={"deny_terms": ["platform-word"]},
        tenants={
            "acme": {"output": {"deny_terms": ["acme-word"], "pii": "redact"}},
            "open": {"output": {}},  # replaces the platform's whole: no rules at all
        },
    )
    keys = {tenant: create_key(settings, tenant).key for tenant in ("acme", "open", "other")}
    answer = "platform-word acme-word bob@example.org"
    seen: dict[str, tuple[str, str]] = {}
    with serving(settings) as http:
        script.say(answer, piece=5)
        for tenant, key in keys.items():
            headers = {"Authorization": f"Bearer {key}"}
            plain = http.post(CHAT, json=chat_body(), headers=headers)
            streamed = http.post(CHAT, json=chat_body(stream=True), headers=headers)
            seen[tenant] = (plain.json()["choices"][0]["message"]["content"], stream_text(streamed)[0])
    assert seen["acme"] == ("platform-word *** [EMAIL]",) * 2
    assert seen["open"] == (answer,) * 2
    assert seen["other"] == ("*** acme-word bob@example.org",) * 2  # a tenant not listed: the platform's


def test_fake_upstream_a_tenant_without_rules_gets_the_stream_untouched(
    tmp_path: Path, script: Script
) -> None:
    settings = output_settings(tmp_path, script, ["output_filter"])
    with serving(settings) as http:
        script.say("one two three", piece=2)
        streamed = http.post(CHAT, json=chat_body(stream=True, logprobs=True))
    chunks = stream_chunks(streamed)
    assert [c["choices"][0].get("delta", {}).get("content") for c in chunks[1:-1]] == [
        "on", "e ", "tw", "o ", "th", "re", "e"
    ]  # fmt: skip
