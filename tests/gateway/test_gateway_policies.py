"""The request-policy chain and the usage record, through the gateway over real HTTP.

The policies other than ``metrics`` and ``access_log`` are test doubles of the peers that will plug in
(a budget check, a cache, an output filter, a stream watcher, a ledger); the upstreams are the echoing
upstream of tests/fixtures/gateway.py and, for embeddings and cached-token counts, a small fake with canned
usage: hence the ``test_fake_`` names. The in-process embedding model is the real one.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_args

import httpx
import orjson
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.context import RequestContext
from gateway.errors import RateLimited
from gateway.policies import POLICIES, Call, Policy, PolicyChain, UsageRecord, build_chain
from gateway.policies.access_log import AccessLogPolicy
from gateway.policies.metrics import MetricsPolicy
from gateway.telemetry.logging import ACCESS_LOGGER
from gateway.upstreams.base import normalize_usage
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings, PolicyName
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream, ServerThread
from tests.fixtures.router_settings import sample

LOCAL_MODEL = "all-MiniLM-L6-v2"
CACHED_CHAT = "cached-chat"  # routed to the usage fake, which reports cached prompt tokens
ROUTED_EMBED = "routed-embed"
BROKEN_CHAT = "broken-chat"  # the usage fake answers it with HTTP 500
CANNED = {"id": "from-cache", "object": "chat.completion", "created": 0, "model": CHAT_MODEL, "choices": []}
CANNED_EVENTS = [b'data: {"id":"from-cache","choices":[]}\n\n', b"data: [DONE]\n\n"]
FAKE_USAGE = {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}
FAKE_CACHED = 16


# --- test doubles of the policies to come -----------------------------------------------------------------


@dataclass
class Seen:
    """What the doubles saw, by request id (written in the server's thread, read by the tests)."""

    order: list[str] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    chunks: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    ended: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    records: list[UsageRecord] = field(default_factory=list)


class Budget(Policy):
    """A budget check: ends the request before the upstream for the user who spent theirs."""

    name: ClassVar[str] = "test_budget"

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def before(self, call: Call) -> None:
        self.seen.order.append(self.name)
        if call.body.get("user") == "over-budget":
            raise RateLimited("The budget of this user is spent.", code="budget_exceeded")


class Cache(Policy):
    """A cache: answers the user "cached" itself, in the form the call asked for."""

    name: ClassVar[str] = "test_cache"

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def before(self, call: Call) -> dict[str, Any] | AsyncIterator[bytes] | None:
        self.seen.order.append(self.name)
        if call.body.get("user") != "cached":
            return None
        if call.stream:
            return _canned_events()
        return dict(CANNED)


async def _canned_events() -> AsyncIterator[bytes]:
    for event in CANNED_EVENTS:
        yield event


class Stamp(Policy):
    """An output filter: sees every complete answer and marks it."""

    name: ClassVar[str] = "test_stamp"

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        self.seen.answers[call.request_id] = dict(answer)
        return {**answer, "system_fingerprint": "stamped"}


class Watch(Policy):
    """A stream watcher: keeps every event it is handed and counts stream ends."""

    name: ClassVar[str] = "test_watch"

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        self.seen.chunks[call.request_id].append(event)
        return event

    def on_stream_end(self, call: Call) -> None:
        self.seen.ended[call.request_id] += 1


class Ledger(Policy):
    """A usage sink: keeps every record."""

    name: ClassVar[str] = "test_ledger"

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    def record(self, record: UsageRecord) -> None:
        self.seen.records.append(record)


# --- a fake upstream with canned usage: embeddings, and prompt tokens served from a prefix cache ------------


def _usage_app() -> Starlette:
    usage = {**FAKE_USAGE, "prompt_tokens_details": {"cached_tokens": FAKE_CACHED}}

    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        if body["model"] == "broken-1":
            return JSONResponse({"error": {"message": "injected failure"}}, status_code=500)
        base = {"id": "c", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": "hi there"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return JSONResponse({**base, "object": "chat.completion", "choices": [choice], "usage": usage})

        async def events() -> AsyncIterator[bytes]:
            def chunk(delta: dict[str, Any], reason: str | None = None) -> bytes:
                choice = {"index": 0, "delta": delta, "finish_reason": reason}
                payload = {**base, "object": "chat.completion.chunk", "choices": [choice]}
                return b"data: " + orjson.dumps(payload) + b"\n\n"

            yield chunk({"role": "assistant", "content": "hi"})
            yield chunk({"content": " there"}, "stop")
            final = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            yield b"data: " + orjson.dumps(final) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def embeddings(request: Request) -> Response:
        body = orjson.loads(await request.body())
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.5, 0.25]} for i in range(len(texts))]
        usage = {"prompt_tokens": 9, "total_tokens": 9}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
        ]
    )


@dataclass
class PolicyGateway:
    url: str
    seen: Seen
    usage_url: str


@pytest.fixture(scope="module")
def policy_gateway(
    echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyGateway]:
    from gateway.app import create_app

    seen = Seen()
    doubles = [Budget(seen), Cache(seen), Stamp(seen), Watch(seen), Ledger(seen)]
    chain = PolicyChain([*doubles, *build_chain(["metrics", "access_log"]).policies])
    with ServerThread(_usage_app()) as usage_server:
        fast = {"attempts": 2, "base_delay": 0.01, "max_delay": 0.02}
        gateway = GatewaySettings.model_validate(
            {
                "retry": fast,
                "upstreams": {
                    "echo": {"kind": "openai", "workers": [echo_upstream_server.url], "vllm_metrics": False},
                    "usage": {"kind": "openai", "workers": [usage_server.url], "vllm_metrics": False},
                },
                "models": {
                    CHAT_MODEL: {"targets": [{"upstream": "echo", "model": "echo-1"}]},
                    CACHED_CHAT: {"targets": [{"upstream": "usage", "model": "usage-1"}]},
                    ROUTED_EMBED: {"targets": [{"upstream": "usage", "model": "embed-1"}]},
                    BROKEN_CHAT: {"targets": [{"upstream": "usage", "model": "broken-1"}]},
                },
            }
        )
        settings = Settings(home=tmp_path_factory.mktemp("policy-home"), gateway=gateway)
        with ServerThread(create_app(settings, chain=chain)) as server:
            yield PolicyGateway(server.url, seen, usage_server.url)


@pytest.fixture
def http(policy_gateway: PolicyGateway, echo_upstream: EchoUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=policy_gateway.url, timeout=60) as client:
        yield client


_ids = iter(range(1_000_000))


def request_id(label: str) -> str:
    return f"{label}-{next(_ids)}"


def post(http: httpx.Client, path: str, body: dict[str, Any], rid: str) -> httpx.Response:
    return http.post(path, json=body, headers={"X-Request-Id": rid})


def record_of(seen: Seen, rid: str) -> UsageRecord:
    """The one usage record of request ``rid`` (written once the answer went out, so it may trail)."""
    deadline = time.monotonic() + 5
    while not any(record.request_id == rid for record in seen.records):
        assert time.monotonic() < deadline, f"no usage record for {rid}"
        time.sleep(0.01)
    time.sleep(0.05)  # a second record would follow at once
    found = [record for record in seen.records if record.request_id == rid]
    assert len(found) == 1, f"{len(found)} records for one request"
    return found[0]


def events_of(text: str) -> list[bytes]:
    return [(part + "\n\n").encode() for part in text.split("\n\n") if part]


# --- the chain itself ---------------------------------------------------------------------------------------


def test_settings_order_the_chain_and_refuse_unknown_or_repeated_names() -> None:
    assert GatewaySettings().policies == ["metrics", "access_log"]
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
    assert all(POLICIES[name].name == name for name in POLICIES)


@pytest.mark.anyio
async def test_chain_runs_hooks_in_its_order_and_hands_streams_on_untouched_without_chunk_hooks() -> None:
    seen = Seen()
    ctx = RequestContext("r-1", "m", "chat", time.monotonic() + 5, stream=True)
    call = Call(ctx, {"model": "m"})
    chain = PolicyChain([Cache(seen), Budget(seen)])

    async def upstream(_: Call) -> AsyncIterator[bytes]:
        return _canned_events()

    events = await chain.run(call, upstream)
    assert seen.order == ["test_cache", "test_budget"]
    assert not isinstance(events, dict)
    # No policy wants chunks: the stream is the upstream's own iterator, with no generator around it.
    assert chain.events(call, events) is events
    watched = PolicyChain([Watch(seen)]).events(call, _canned_events())
    assert [event async for event in watched] == CANNED_EVENTS
    assert seen.chunks["r-1"] == CANNED_EVENTS and seen.ended["r-1"] == 1


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
    model = f"sink-model-{next(_ids)}"
    MetricsPolicy().record(_record(model))
    assert sample("genai_gateway_requests_total", model=model, endpoint="chat", status="200") == 1
    assert sample("genai_gateway_request_seconds_sum", model=model, endpoint="chat") == 0.25
    assert sample("genai_gateway_tokens_total", model=model, kind="prompt") == 5
    assert sample("genai_gateway_tokens_total", model=model, kind="completion") == 7
    assert sample("genai_gateway_tokens_total", model=model, kind="cached") == 2
    assert sample("genai_gateway_time_to_first_token_seconds_count", model=model) == 1
    failed = f"sink-failed-{next(_ids)}"
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
