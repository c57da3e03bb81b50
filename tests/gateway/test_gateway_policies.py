"""The request-policy chain, through the gateway over real HTTP: order from settings, a policy ending a
request before the upstream, answering in its place, and the after, per-chunk and stream-end hooks.

The doubles and the gateway are in tests/fixtures/policy_gateway.py; the upstreams are fakes (the echoing
upstream, a canned-usage fake), hence the ``test_fake_`` names.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, get_args

import httpx
import orjson
import pytest
from pydantic import ValidationError

from gateway.context import RequestContext
from gateway.policies import POLICIES, Call, Policy, PolicyChain, build_chain, policy_class
from gateway.policies.access_log import AccessLogPolicy
from gateway.policies.metrics import MetricsPolicy
from genai.settings.gateway import GatewaySettings, PolicyName
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream
from tests.fixtures.policy_gateway import (
    CANNED,
    CANNED_EVENTS,
    LOCAL_MODEL,
    ROUTED_EMBED,
    Budget,
    Cache,
    PolicyGateway,
    Seen,
    Watch,
    canned_events,
    events_of,
    post,
    record_of,
    request_id,
)

# --- the chain itself ---------------------------------------------------------------------------------------


def test_settings_order_the_chain_and_refuse_unknown_or_repeated_names() -> None:
    assert GatewaySettings().policies == [
        "auth",
        "limits",
        "screening",
        "context",
        "response_format",
        "cache",
        "output_filter",
        "metrics",
        "access_log",
        "ledger",
        "audit",
    ]
    reordered = GatewaySettings.model_validate({"policies": ["access_log", "metrics"]})
    chain = build_chain(reordered.policies)
    assert chain.names == ["access_log", "metrics"]
    assert [type(policy) for policy in chain.policies] == [AccessLogPolicy, MetricsPolicy]
    with pytest.raises(ValidationError, match="policies"):
        GatewaySettings.model_validate({"policies": ["metrics", "auth-that-does-not-exist"]})
    with pytest.raises(ValidationError, match="more than once"):
        GatewaySettings.model_validate({"policies": ["metrics", "metrics"]})
    # Every name the settings accept builds a policy of that name.
    assert set(POLICIES) == set(get_args(PolicyName))
    assert all(policy_class(name).name == name for name in POLICIES)


@pytest.mark.anyio
async def test_chain_runs_hooks_in_its_order_and_hands_streams_on_untouched_without_chunk_hooks() -> None:
    seen = Seen()
    ctx = RequestContext("r-1", "m", "chat", time.monotonic() + 5, stream=True)
    call = Call(ctx, {"model": "m"})
    chain = PolicyChain([Cache(seen), Budget(seen)])

    async def upstream(_: Call) -> AsyncIterator[bytes]:
        return canned_events()

    events = await chain.run(call, upstream)
    assert seen.order == ["test_cache", "test_budget"]
    assert not isinstance(events, dict)
    # No policy wants chunks: the stream is the upstream's own iterator, with no generator around it.
    assert chain.events(call, events) is events
    watched = PolicyChain([Watch(seen)]).events(call, canned_events())
    assert [event async for event in watched] == CANNED_EVENTS
    assert seen.chunks["r-1"] == CANNED_EVENTS and seen.ended["r-1"] == 1


class _Mark(Policy):
    """Leaves its name in every answer and stream event it sees."""

    def __init__(self, mark: str) -> None:
        self.mark = mark

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "marks": [*answer.get("marks", []), self.mark]}

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        return event + self.mark.encode()


class _Replay(Policy):
    """Answers from ``before`` as a cache hit would: a dict, or events for a stream."""

    async def before(self, call: Call) -> Any:
        if call.stream:
            return canned_events()
        return {"marks": ["stored"]}


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True])
async def test_an_answer_from_before_passes_only_hooks_of_the_policies_after_it(
    stream: bool,
) -> None:
    # A replayed answer already went through the earlier policies' hooks when it was stored.
    ctx = RequestContext("r-2", "m", "chat", time.monotonic() + 5, stream=stream)
    call = Call(ctx, {"model": "m"})
    replay = _Replay()
    chain = PolicyChain([_Mark("early"), replay, _Mark("late")])

    async def upstream(_: Call) -> dict[str, Any]:
        raise AssertionError("a replayed answer never reaches the upstream")

    answer = await chain.run(call, upstream)
    assert call.answered_by is replay
    if not stream:
        assert answer == {"marks": ["stored", "late"]}
        return
    assert not isinstance(answer, dict)
    events = [event async for event in chain.events(call, answer)]
    assert events == [event + b"late" for event in CANNED_EVENTS]


# --- hooks, over HTTP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": CHAT_MODEL, "messages": USER}),
        ("/v1/chat/completions", {"model": CHAT_MODEL, "messages": USER, "stream": True}),
        ("/v1/completions", {"model": CHAT_MODEL, "prompt": "hello"}),
        ("/v1/embeddings", {"model": LOCAL_MODEL, "input": "hello"}),
        ("/v1/embeddings", {"model": ROUTED_EMBED, "input": "hello"}),
    ],
)
def test_fake_upstream_policy_ends_the_request_before_the_upstream_with_an_openai_error(
    http: httpx.Client,
    policy_gateway: PolicyGateway,
    echo_upstream: EchoUpstream,
    path: str,
    body: dict[str, Any],
) -> None:
    rid = request_id("budget")
    answer = post(http, path, {**body, "user": "over-budget"}, rid)
    assert answer.status_code == 429
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {
        "error": {
            "message": "The budget of this user is spent.",
            "type": "rate_limit_error",
            "param": None,
            "code": "budget_exceeded",
        }
    }
    assert not echo_upstream.requests  # the upstream was never asked
    record = record_of(policy_gateway.seen, rid)
    assert record.status == 429 and record.error_type == "budget_exceeded"
    assert record.upstream is None and record.attempts == 0 and record.prompt_tokens is None


def test_fake_upstream_policy_answers_from_before_without_the_upstream(
    http: httpx.Client, policy_gateway: PolicyGateway, echo_upstream: EchoUpstream
) -> None:
    rid = request_id("cached")
    answer = post(
        http, "/v1/chat/completions", {"model": CHAT_MODEL, "messages": USER, "user": "cached"}, rid
    )
    assert answer.status_code == 200
    assert answer.json() == {**CANNED, "system_fingerprint": "stamped"}  # after hooks still ran
    streamed_id = request_id("cached-stream")
    body = {"model": CHAT_MODEL, "messages": USER, "user": "cached", "stream": True}
    streamed = post(http, "/v1/chat/completions", body, streamed_id)
    assert events_of(streamed.text) == CANNED_EVENTS
    assert policy_gateway.seen.chunks[streamed_id] == CANNED_EVENTS
    assert not echo_upstream.requests
    record = record_of(policy_gateway.seen, rid)
    assert record.status == 200 and record.attempts == 0 and record.upstream is None


def test_fake_upstream_after_hook_sees_and_changes_the_real_answer(
    http: httpx.Client, policy_gateway: PolicyGateway
) -> None:
    rid = request_id("after")
    answer = post(http, "/v1/chat/completions", {"model": CHAT_MODEL, "messages": USER}, rid).json()
    assert answer["system_fingerprint"] == "stamped"
    original = policy_gateway.seen.answers[rid]
    assert original["choices"][0]["message"]["content"] == "echo: hello big world"
    assert "system_fingerprint" not in original and original["model"] == CHAT_MODEL


def test_fake_upstream_chunk_hooks_see_every_streamed_event_and_the_end(
    http: httpx.Client, policy_gateway: PolicyGateway
) -> None:
    rid = request_id("chunks")
    streamed = post(
        http, "/v1/chat/completions", {"model": CHAT_MODEL, "messages": USER, "stream": True}, rid
    )
    sent = events_of(streamed.text)
    assert policy_gateway.seen.chunks[rid] == sent
    words = [orjson.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in sent[:-1]]
    assert "".join(words) == "echo: hello big world" and sent[-1] == b"data: [DONE]\n\n"
    record_of(policy_gateway.seen, rid)  # the record follows the end of the stream
    assert policy_gateway.seen.ended[rid] == 1
