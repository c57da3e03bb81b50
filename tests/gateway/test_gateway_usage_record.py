"""The usage record: one per request, built in one place, fed to the metrics and access-log sinks.

Runs against the gateway of tests/fixtures/policy_gateway.py (fake upstreams, hence the ``test_fake_``
names; the in-process embedding model is the real one).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from gateway.policies import UsageRecord
from gateway.policies.access_log import AccessLogPolicy
from gateway.policies.metrics import MetricsPolicy
from gateway.telemetry.logging import ACCESS_LOGGER
from gateway.upstreams.base import normalize_usage
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream
from tests.fixtures.policy_gateway import (
    BROKEN_CHAT,
    CACHED_CHAT,
    FAKE_CACHED,
    FAKE_USAGE,
    IDS,
    LOCAL_MODEL,
    ROUTED_EMBED,
    PolicyGateway,
    events_of,
    post,
    record_of,
    request_id,
)
from tests.fixtures.router_settings import sample

# --- the usage record ---------------------------------------------------------------------------------------


def test_fake_upstream_usage_record_of_a_completion(
    http: httpx.Client, policy_gateway: PolicyGateway
) -> None:
    rid = request_id("plain")
    before = sample("genai_gateway_tokens_total", model=CHAT_MODEL, kind="completion")
    post(http, "/v1/chat/completions", {"model": CHAT_MODEL, "messages": USER}, rid)
    record = record_of(policy_gateway.seen, rid)
    assert (record.endpoint, record.model, record.served, record.stream) == ("chat", CHAT_MODEL, True, False)
    assert (record.served_model, record.upstream) == ("echo-1", "echo") and record.worker
    assert (record.prompt_tokens, record.completion_tokens, record.cached_tokens) == (3, 4, None)
    assert record.status == 200 and record.attempts == 1 and record.fallbacks == 0
    assert record.time_to_first_token is None and record.error_type is None
    assert record.router_seconds is not None and 0 < record.router_seconds <= record.latency_seconds
    assert sample("genai_gateway_tokens_total", model=CHAT_MODEL, kind="completion") == before + 4


@pytest.mark.parametrize("include_usage", [False, True])
def test_fake_upstream_usage_record_of_a_stream(
    http: httpx.Client, policy_gateway: PolicyGateway, include_usage: bool
) -> None:
    rid = request_id("stream")
    body: dict[str, Any] = {"model": CHAT_MODEL, "messages": USER, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    sent = events_of(post(http, "/v1/chat/completions", body, rid).text)
    record = record_of(policy_gateway.seen, rid)
    # The router always asks the upstream for usage; the client sees it only when it asked.
    assert (record.prompt_tokens, record.completion_tokens) == (3, 4)
    assert any(b'"usage":{' in event for event in sent) is include_usage
    assert record.stream is True and record.status == 200 and record.attempts == 1
    assert record.time_to_first_token is not None
    assert 0 < record.time_to_first_token <= record.latency_seconds


@pytest.mark.parametrize("stream", [False, True])
def test_fake_upstream_usage_record_counts_cached_prompt_tokens(
    http: httpx.Client, policy_gateway: PolicyGateway, stream: bool
) -> None:
    rid = request_id("prefix")
    before = sample("genai_gateway_tokens_total", model=CACHED_CHAT, kind="cached")
    post(http, "/v1/chat/completions", {"model": CACHED_CHAT, "messages": USER, "stream": stream}, rid)
    record = record_of(policy_gateway.seen, rid)
    assert (record.prompt_tokens, record.completion_tokens, record.cached_tokens) == (20, 2, FAKE_CACHED)
    assert record.served_model == "usage-1" and record.upstream == "usage"
    assert sample("genai_gateway_tokens_total", model=CACHED_CHAT, kind="cached") == before + FAKE_CACHED


def test_cached_tokens_are_read_from_prompt_tokens_details_only_when_reported() -> None:
    reported = normalize_usage({**FAKE_USAGE, "prompt_tokens_details": {"cached_tokens": 5}})
    assert reported == {**FAKE_USAGE, "cached_tokens": 5}
    assert normalize_usage({**FAKE_USAGE, "prompt_tokens_details": None}) == FAKE_USAGE


def test_fake_upstream_usage_record_of_routed_embeddings(
    http: httpx.Client, policy_gateway: PolicyGateway
) -> None:
    rid = request_id("routed-embed")
    answer = post(http, "/v1/embeddings", {"model": ROUTED_EMBED, "input": ["a", "b"]}, rid)
    assert answer.status_code == 200 and len(answer.json()["data"]) == 2
    record = record_of(policy_gateway.seen, rid)
    assert (record.endpoint, record.model, record.served_model, record.upstream) == (
        "embeddings",
        ROUTED_EMBED,
        "embed-1",
        "usage",
    )
    assert record.prompt_tokens == 9 and record.attempts == 1 and record.stream is False


def test_usage_record_of_in_process_embeddings(http: httpx.Client, policy_gateway: PolicyGateway) -> None:
    rid = request_id("local-embed")
    before = sample("genai_gateway_tokens_total", model=LOCAL_MODEL, kind="prompt")
    answer = post(http, "/v1/embeddings", {"model": LOCAL_MODEL, "input": ["one two three", "four"]}, rid)
    assert answer.status_code == 200
    tokens = answer.json()["usage"]["prompt_tokens"]
    record = record_of(policy_gateway.seen, rid)
    assert record.endpoint == "embeddings" and record.model == LOCAL_MODEL and record.served
    assert record.prompt_tokens == tokens > 0 and record.completion_tokens is None
    assert record.upstream is None and record.attempts == 0 and record.served_model
    assert policy_gateway.seen.answers[rid]["usage"]["prompt_tokens"] == tokens  # after hooks saw it
    assert sample("genai_gateway_tokens_total", model=LOCAL_MODEL, kind="prompt") == before + tokens


def test_fake_upstream_usage_records_of_failures(http: httpx.Client, policy_gateway: PolicyGateway) -> None:
    broken = request_id("broken")
    answer = post(http, "/v1/chat/completions", {"model": BROKEN_CHAT, "messages": USER}, broken)
    assert answer.status_code == 502
    record = record_of(policy_gateway.seen, broken)
    assert record.status == 502 and record.error_type == answer.json()["error"]["code"] == "bad_gateway"
    assert record.upstream == "usage" and record.attempts == 2 and record.prompt_tokens is None
    unknown = request_id("unknown")
    assert post(http, "/v1/chat/completions", {"model": "nope", "messages": USER}, unknown).status_code == 404
    record = record_of(policy_gateway.seen, unknown)
    assert record.status == 404 and record.model == "nope" and not record.served
    assert record.error_type == "model_not_found" and record.upstream is None


def test_fake_upstream_client_leaving_mid_stream_is_one_499_record(
    http: httpx.Client, policy_gateway: PolicyGateway, echo_upstream: EchoUpstream
) -> None:
    echo_upstream.chunk_delay = 0.3
    rid = request_id("left")
    before = sample("genai_gateway_requests_total", model=CHAT_MODEL, endpoint="chat", status="499")
    body = {"model": CHAT_MODEL, "messages": USER, "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body, headers={"X-Request-Id": rid}) as streamed:
        first = next(streamed.iter_lines())
    assert first.startswith("data: ")
    record = record_of(policy_gateway.seen, rid)
    assert record.status == 499 and record.stream is True and record.upstream == "echo"
    assert policy_gateway.seen.ended[rid] == 1  # the stream-end hook ran for the abandoned stream too
    assert (
        sample("genai_gateway_requests_total", model=CHAT_MODEL, endpoint="chat", status="499") == before + 1
    )


# --- the two sinks, fed from a record ----------------------------------------------------------------------


def _record(model: str, **fields: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "request_id": "rec-1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "status": 200,
        "latency_seconds": 0.25,
        "endpoint": "chat",
        "model": model,
        "served": True,
        "upstream": "u",
        "worker": "http://w",
        "stream": True,
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "cached_tokens": 2,
        "time_to_first_token": 0.1,
        "attempts": 1,
    }
    values.update(fields)
    return UsageRecord(**values)


def test_metrics_policy_feeds_the_series_from_the_record() -> None:
    model = f"sink-model-{next(IDS)}"
    MetricsPolicy().record(_record(model))
    assert sample("genai_gateway_requests_total", model=model, endpoint="chat", status="200") == 1
    assert sample("genai_gateway_request_seconds_sum", model=model, endpoint="chat") == 0.25
    assert sample("genai_gateway_tokens_total", model=model, kind="prompt") == 5
    assert sample("genai_gateway_tokens_total", model=model, kind="completion") == 7
    assert sample("genai_gateway_tokens_total", model=model, kind="cached") == 2
    assert sample("genai_gateway_time_to_first_token_seconds_count", model=model) == 1
    failed = f"sink-failed-{next(IDS)}"
    MetricsPolicy().record(_record(failed, status=504, error_type="gateway_timeout"))
    assert sample("genai_gateway_errors_total", model=failed, worker="http://w", type="gateway_timeout") == 1
    # A name the gateway does not serve is never a label.
    MetricsPolicy().record(_record("client-made-up", served=False))
    assert sample("genai_gateway_requests_total", model="client-made-up", endpoint="chat", status="200") == 0


def test_access_log_policy_writes_the_record_as_one_line() -> None:
    lines: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record)

    access = logging.getLogger(ACCESS_LOGGER)
    handler, level = Keep(), access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        AccessLogPolicy().record(_record("m", served_model="m-upstream"))
        AccessLogPolicy().record(_record("m", path="/healthz", endpoint=None))  # a probe: no line
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert len(lines) == 1
    fields: dict[str, Any] = lines[0].__dict__["gateway_fields"]
    assert fields["request_id"] == "rec-1" and fields["status"] == 200 and fields["latency_ms"] == 250.0
    assert fields["ttft_ms"] == 100.0 and fields["served_model"] == "m-upstream"
    assert fields["tokens"] == {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12,
        "cached_tokens": 2,
    }
