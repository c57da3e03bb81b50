"""The router under purposely failing upstreams: retries, Retry-After, timeouts, deadlines, broken streams,
circuit breaking, fallback to the next provider, health checks, and load spreading by vLLM's gauges.

Every upstream here is a fake (tests/fixtures/fake_upstreams.py) because the faults are injected on
purpose; the same routing against real vLLM workers is in test_router_vllm.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    InvalidRequest,
    NoHealthyUpstream,
    RateLimited,
    UpstreamFailed,
)
from gateway.telemetry.metrics import REGISTRY
from gateway.upstreams.base import UpstreamError, UpstreamStream
from gateway.upstreams.openai_compat import OpenAIStreamDecoder
from tests.fixtures.fake_upstreams import (
    FakeUpstream,
    chat_body,
    collect,
    context,
    event_json,
    running,
    unique,
    unused_url,
)

pytestmark = pytest.mark.anyio

Factory = Callable[..., FakeUpstream]
FAST_RETRY = {"attempts": 3, "base_delay": 0.01, "max_delay": 0.05, "max_retry_after": 5.0}


def gateway(
    chain: list[tuple[str, list[str]]], *, model: str = "m", kinds: dict[str, str] | None = None,
    upstream: dict[str, Any] | None = None, **options: Any,
) -> dict[str, Any]:
    """Settings for one model routed over ``chain`` = [(upstream name, worker urls), ...]."""
    kinds = kinds or {}
    upstreams = {
        name: {"workers": urls, "kind": kinds.get(name, "openai"), **(upstream or {})} for name, urls in chain
    }
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("health_interval", 0.05)
    options.setdefault("scrape_interval", 0.05)
    targets = [{"upstream": name, "model": f"served-by-{name}"} for name, _ in chain]
    return {"upstreams": upstreams, "models": {model: {"targets": targets}}, **options}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def content(answer: dict[str, Any]) -> str:
    return str(answer["choices"][0]["message"]["content"])


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# -- stream pass-through (no server needed) ----------------------------------------------------------------


def test_stream_passthrough_renames_the_model_and_leaves_the_rest_byte_for_byte() -> None:
    decoder = OpenAIStreamDecoder("client-name", include_usage=False)
    # The content holds an escaped "model":"x" that must stay untouched.
    compact = (b'data: {"id":"c1","model":"/models/tiny",'
               b'"choices":[{"delta":{"content":"\\"model\\":\\"x\\""}}]}')
    first = decoder.decode(compact)
    assert first == compact.replace(b"/models/tiny", b"client-name") + b"\n\n"
    spaced = b'data: {"id": "c1", "model" : "we\\"ird", "choices": [{"finish_reason": "stop"}]}'
    assert event_json(decoder.decode(spaced) or b"")["model"] == "client-name"
    assert decoder.finished and not decoder.done
    assert decoder.decode(b": keep-alive comment") is None
    assert decoder.decode(b"data: [DONE]") is None and decoder.done


def test_stream_passthrough_meters_usage_and_hides_it_unless_asked() -> None:
    usage_only = b'data: {"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}'
    hidden = OpenAIStreamDecoder("client", include_usage=False)
    hidden.decode(b'data: {"id":"c","model":"m","choices":[]}')
    assert hidden.decode(usage_only) is None
    assert hidden.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    shown = OpenAIStreamDecoder("client", include_usage=True)
    shown.decode(b'data: {"id":"c","model":"m","choices":[]}')
    assert event_json(shown.decode(usage_only) or b"")["usage"]["completion_tokens"] == 2  # passed as sent
    # Usage riding on a content chunk (continuous usage stats): the content stays, the usage goes.
    mixed = b'data: {"model":"m","choices":[{"delta":{"content":"x"}}],"usage": {"prompt_tokens":1}}'
    chunk = event_json(hidden.decode(mixed) or b"")
    assert "usage" not in chunk and chunk["choices"][0]["delta"]["content"] == "x"


def test_stream_passthrough_surfaces_error_events_and_garbage() -> None:
    decoder = OpenAIStreamDecoder("client", include_usage=False)
    with pytest.raises(UpstreamError) as garbage:
        decoder.decode(b"data: {not json")
    assert garbage.value.reason == "malformed"
    decoder.decode(b'data: {"model":"m","choices":[]}')
    with pytest.raises(UpstreamError) as error:
        decoder.decode(b'data: {"object":"error","message":"engine died","code":500}')
    assert error.value.reason == "stream_error" and error.value.message == "engine died"
    multi = b'event: message\ndata: {"model":"m",\ndata: "choices":[]}'
    assert event_json(decoder.decode(multi) or b"")["model"] == "client"


class _Content:
    """Stands in for aiohttp's response body reader: hands out the given network reads, then EOF."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = list(reads)

    async def readany(self) -> bytes:
        return self.reads.pop(0) if self.reads else b""


class _Response:
    def __init__(self, reads: list[bytes]) -> None:
        self.content = _Content(reads)
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _upstream_stream(reads: list[bytes]) -> tuple[UpstreamStream, _Response]:
    response = _Response(reads)
    return UpstreamStream(response, OpenAIStreamDecoder("client", include_usage=False)), response  # type: ignore[arg-type]


async def test_stream_events_split_across_reads_and_crlf_are_reassembled() -> None:
    first = b'data: {"model":"m","choices":[{"delta":{"content":"a"}}]}'
    second = b'data: {"model":"m","choices":[{"delta":{},"finish_reason":"stop"}]}'
    wire = (first + b"\r\n\r\n" + second + b"\r\n\r\ndata: [DONE]\r\n\r\n")
    n = len(first)  # cut inside an event and between a \r and its \n
    reads = [wire[:20], wire[20 : n + 1], wire[n + 1 : n + 3], wire[n + 3 :]]
    stream, response = _upstream_stream(reads)
    events = [event async for event in stream]
    assert [event_json(e)["choices"][0]["delta"] for e in events] == [{"content": "a"}, {}]
    assert response.closed


async def test_stream_ending_without_done_is_complete_only_after_a_finish_reason() -> None:
    finished = b'data: {"model":"m","choices":[{"delta":{},"finish_reason":"length"}]}\n'  # unterminated
    stream, _ = _upstream_stream([b'data: {"model":"m","choices":[]}\n\n', finished])
    assert len([event async for event in stream]) == 2
    cut, _ = _upstream_stream([b'data: {"model":"m","choices":[{"delta":{"content":"a"}}]}\n\n'])
    with pytest.raises(UpstreamError) as raised:
        _ = [event async for event in cut]
    assert raised.value.reason == "disconnect"


# -- retries ----------------------------------------------------------------------------------------------


async def test_fault_upstream_500_retries_then_succeeds(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="error", status=500, fail_first=2)
    name = unique("u500")
    async with running(gateway([(name, [fake.url])])) as router:
        ctx = context("m")
        answer = await router.complete(ctx, chat_body("m"))
    assert content(answer) == "hello from a"
    assert answer["model"] == "m"  # the client-facing name, not the upstream's
    assert ctx.attempts == 3 and ctx.upstream == name and ctx.worker == fake.url
    assert ctx.usage == {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}
    received = fake.completions()
    assert len(received) == 3
    # Every attempt carries the client's request id and the upstream's model name.
    assert {r.headers["x-request-id"] for r in received} == {ctx.request_id}
    assert {r.body["model"] for r in received} == {f"served-by-{name}"}
    assert sample("genai_gateway_retries_total", upstream=name, reason="status_5xx") == 2
    assert sample("genai_gateway_errors_total", model="m", worker=fake.url, type="status_5xx") >= 2


async def test_fault_upstream_500_everywhere_answers_502_after_all_attempts(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="error", status=503)
    async with running(gateway([(unique("u503"), [fake.url])])) as router:
        with pytest.raises(UpstreamFailed) as raised:
            await router.complete(context("m"), chat_body("m"))
    assert raised.value.status == 502 and "127.0.0.1" not in raised.value.message  # no internal address
    assert len(fake.completions()) == 3


async def test_fault_400_is_returned_without_retry_or_fallback(fake_upstream: Factory) -> None:
    bad, spare = fake_upstream("bad").behave(mode="error", status=400), fake_upstream("spare")
    async with running(gateway([("p400", [bad.url]), ("s400", [spare.url])])) as router:
        with pytest.raises(InvalidRequest) as raised:
            await router.complete(context("m"), chat_body("m"))
    assert raised.value.status == 400 and raised.value.message == "injected failure"
    assert len(bad.completions()) == 1 and not spare.completions()


async def test_fault_401_skips_retries_and_moves_to_the_next_upstream(fake_upstream: Factory) -> None:
    denied, spare = fake_upstream("denied").behave(mode="error", status=401), fake_upstream("spare")
    async with running(gateway([("p401", [denied.url]), ("s401", [spare.url])])) as router:
        ctx = context("m")
        answer = await router.complete(ctx, chat_body("m"))
    assert content(answer) == "hello from spare" and ctx.fallbacks == 1
    assert len(denied.completions()) == 1


# -- 429 and Retry-After ------------------------------------------------------------------------------------


async def test_fault_429_retry_after_is_honoured(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="rate_limit", retry_after="1", fail_first=1)
    async with running(gateway([(unique("u429"), [fake.url])])) as router:
        answer = await router.complete(context("m"), chat_body("m"))
    assert content(answer) == "hello from a"
    first, second = fake.completions()
    assert 1.0 <= second.at - first.at < 1.8


async def test_fault_429_retry_after_is_capped(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="rate_limit", retry_after="30", fail_first=1)
    retry = {**FAST_RETRY, "max_retry_after": 0.3}
    async with running(gateway([(unique("ucap"), [fake.url])], retry=retry)) as router:
        await router.complete(context("m"), chat_body("m"))
    first, second = fake.completions()
    assert 0.3 <= second.at - first.at < 1.0


async def test_fault_429_sends_the_retry_to_another_worker_at_once(fake_upstream: Factory) -> None:
    limited, free = fake_upstream("limited").behave(mode="rate_limit", retry_after="5"), fake_upstream("free")
    started = time.monotonic()
    async with running(gateway([(unique("u429b"), [limited.url, free.url])])) as router:
        answers = [await router.complete(context("m"), chat_body("m")) for _ in range(6)]
    assert {content(a) for a in answers} == {"hello from free"}
    assert len(limited.completions()) == 1  # cooling down after its 429: not asked again
    assert time.monotonic() - started < 2.0


async def test_fault_429_everywhere_beyond_the_deadline_answers_429(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="rate_limit", retry_after="30")
    async with running(gateway([(unique("u429c"), [fake.url])])) as router:
        with pytest.raises(RateLimited):
            await router.complete(context("m", deadline=1.0), chat_body("m"))


# -- slow, hanging, deadlines ---------------------------------------------------------------------------


async def test_fault_slow_worker_times_out_and_the_retry_goes_to_the_other(fake_upstream: Factory) -> None:
    slow, quick = fake_upstream("slow").behave(mode="slow", delay=3.0), fake_upstream("quick")
    name = unique("uslow")
    async with running(gateway([(name, [slow.url, quick.url])], upstream={"timeout": 0.4})) as router:
        started = time.monotonic()
        ctx = context("m")
        answer = await router.complete(ctx, chat_body("m"))
    assert content(answer) == "hello from quick"
    assert time.monotonic() - started < 1.5
    assert ctx.attempts == 2
    assert sample("genai_gateway_errors_total", model="m", worker=slow.url, type="timeout") == 1


async def test_fault_hang_past_the_deadline_answers_504_on_time(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="hang")
    async with running(gateway([(unique("uhang"), [fake.url])])) as router:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            await router.complete(context("m", deadline=0.5), chat_body("m"))
        assert 0.45 <= time.monotonic() - started < 1.0
        with pytest.raises(DeadlineExceeded):
            await router.stream(context("m", stream=True, deadline=0.5), chat_body("m", stream=True))
        assert router.pools[next(iter(router.pools))].workers[0].in_flight == 0


async def test_fault_stream_hanging_mid_stream_ends_with_an_error_event_by_the_deadline(
    fake_upstream: Factory,
) -> None:
    fake = fake_upstream("a").behave(mode="stall", reset_after=1)
    async with running(gateway([(unique("uhang2"), [fake.url])])) as router:
        started = time.monotonic()
        events = await collect(await router.stream(context("m", stream=True, deadline=0.8),
                                                   chat_body("m", stream=True)))
        elapsed = time.monotonic() - started
    assert 0.75 <= elapsed < 1.5
    assert event_json(events[1])["choices"][0]["delta"]["content"] == "a-0 "
    assert event_json(events[-2])["error"]["code"] == "gateway_timeout"
    assert events[-1] == b"data: [DONE]\n\n"


async def test_fault_stream_stalling_past_the_upstream_timeout_ends_with_an_error_event(
    fake_upstream: Factory,
) -> None:
    fake = fake_upstream("a").behave(mode="stall", reset_after=0)
    name = unique("ustall")
    async with running(gateway([(name, [fake.url])], upstream={"timeout": 0.3})) as router:
        started = time.monotonic()
        events = await collect(await router.stream(context("m", stream=True, deadline=30),
                                                   chat_body("m", stream=True)))
        assert 0.25 <= time.monotonic() - started < 1.0
        assert router.pools[name].workers[0].in_flight == 0
    assert event_json(events[-2])["error"]["code"] == "bad_gateway"
    assert sample("genai_gateway_errors_total", model="m", worker=fake.url, type="timeout") == 1


async def test_fault_retries_stop_at_the_deadline(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="slow", delay=0.2)
    retry = {"attempts": 10, "base_delay": 0.5, "max_delay": 0.5}
    async with running(gateway([(unique("udl"), [fake.url])], retry=retry,
                               upstream={"timeout": 0.1})) as router:
        started = time.monotonic()
        with pytest.raises(GatewayError) as raised:
            await router.complete(context("m", deadline=0.6), chat_body("m"))
    assert raised.value.status in (502, 504)
    assert time.monotonic() - started < 1.0


# -- broken streams -------------------------------------------------------------------------------------


async def test_fault_connection_reset_mid_stream_ends_with_an_sse_error_event(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="reset", reset_after=1)
    name = unique("ureset")
    async with running(gateway([(name, [fake.url])])) as router:
        ctx = context("m", stream=True)
        events = await collect(await router.stream(ctx, chat_body("m", stream=True)))
        worker = router.pools[name].workers[0]
        assert worker.in_flight == 0
    assert [event_json(e)["choices"][0]["delta"] for e in events[:2]] == [
        {"role": "assistant", "content": ""}, {"content": "a-0 "},
    ]
    error = event_json(events[2])["error"]
    assert error["type"] == "upstream_error" and error["code"] == "bad_gateway"
    assert events[3:] == [b"data: [DONE]\n\n"]
    assert len(fake.completions()) == 1  # bytes had reached the client: no retry
    assert sample("genai_gateway_errors_total", model="m", worker=fake.url, type="disconnect") == 1


async def test_fault_reset_before_the_first_event_is_retried_transparently(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="reset", reset_after=-1, fail_first=1)
    model = unique("mreset")
    ttft_before = sample("genai_gateway_time_to_first_token_seconds_count", model=model)
    async with running(gateway([(unique("ureset2"), [fake.url])], model=model)) as router:
        ctx = context(model, stream=True)
        events = await collect(await router.stream(ctx, chat_body(model, stream=True)))
    chunks = [event_json(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "a-0 a-1 a-2 "
    assert {c["model"] for c in chunks} == {model}
    assert all(c["choices"] for c in chunks)  # no usage chunk: the client did not ask for it
    assert events[-1] == b"data: [DONE]\n\n" and ctx.attempts == 2
    # Usage was still requested upstream and metered.
    assert fake.completions()[-1].body["stream_options"] == {"include_usage": True}
    assert ctx.usage == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    assert sample("genai_gateway_tokens_total", model=model, kind="completion") == 3
    assert sample("genai_gateway_tokens_total", model=model, kind="prompt") == 11
    assert sample("genai_gateway_time_to_first_token_seconds_count", model=model) == ttft_before + 1


async def test_fault_malformed_first_stream_event_is_caught_before_the_client_sees_it(
    fake_upstream: Factory,
) -> None:
    fake = fake_upstream("a").behave(mode="malformed", fail_first=1)
    async with running(gateway([(unique("umal"), [fake.url])])) as router:
        body = chat_body("m", stream=True, stream_options={"include_usage": True})
        events = await collect(await router.stream(context("m", stream=True), body))
    assert event_json(events[0])["choices"][0]["delta"]["role"] == "assistant"
    assert event_json(events[-2])["usage"]["completion_tokens"] == 3  # asked for: passed on
    assert len(fake.completions()) == 2


async def test_fault_error_event_before_the_first_byte_is_retried(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="error_event", fail_first=1)
    async with running(gateway([(unique("uerr"), [fake.url])])) as router:
        events = await collect(await router.stream(context("m", stream=True), chat_body("m", stream=True)))
    assert b'"error"' not in b"".join(events) and len(fake.completions()) == 2


async def test_fault_client_leaving_mid_stream_frees_the_worker(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(chunks=50, delay=0.02)
    name = unique("uleave")
    async with running(gateway([(name, [fake.url])])) as router:
        events = await router.stream(context("m", stream=True), chat_body("m", stream=True))
        worker = router.pools[name].workers[0]
        assert worker.in_flight == 1
        await events.__anext__()
        await events.__anext__()
        await events.aclose()  # type: ignore[attr-defined]
        assert worker.in_flight == 0 and worker.breaker.state.name == "CLOSED"


# -- malformed answers and fallback ----------------------------------------------------------------------


async def test_fault_malformed_json_retries_then_falls_back_to_the_next_provider(
    fake_upstream: Factory,
) -> None:
    broken, spare = fake_upstream("broken").behave(mode="malformed"), fake_upstream("spare")
    pool, hosted = unique("umalf"), unique("uspare")
    async with running(gateway([(pool, [broken.url]), (hosted, [spare.url])])) as router:
        ctx = context("m")
        answer = await router.complete(ctx, chat_body("m"))
    assert content(answer) == "hello from spare"
    assert ctx.fallbacks == 1 and ctx.upstream == hosted and ctx.attempts == 4
    assert spare.completions()[0].body["model"] == f"served-by-{hosted}"
    assert len(broken.completions()) == 3
    assert sample("genai_gateway_fallbacks_total", model="m", from_upstream=pool, to_upstream=hosted) == 1


async def test_fault_dead_pool_falls_back_to_a_hosted_anthropic_vendor(fake_upstream: Factory) -> None:
    vendor = fake_upstream("claude", flavour="anthropic")
    # Health checks are slow here so that the connect errors alone mark the workers down.
    settings = gateway([(unique("udead"), [unused_url(), unused_url()]), ("vendor", [vendor.url])],
                       kinds={"vendor": "anthropic"}, health_interval=10)
    async with running(settings) as router:
        ctx = context("m")
        answer = await router.complete(ctx, chat_body("m"))
        # The dead workers were marked down at the first connect error: later requests go straight on.
        ctx2 = context("m")
        await router.complete(ctx2, chat_body("m"))
    assert answer["object"] == "chat.completion" and answer["model"] == "m"
    assert content(answer) == "hello from claude"
    assert ctx.fallbacks == 1 and ctx.attempts == 3
    assert ctx2.attempts == 1 and ctx2.upstream == "vendor"


async def test_fault_no_healthy_worker_answers_503_and_not_ready(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(health_status=503)
    async with running(gateway([(unique("u503h"), [fake.url])])) as router:
        await eventually(lambda: not router.ready())
        with pytest.raises(NoHealthyUpstream):
            await router.complete(context("m"), chat_body("m"))
        assert not fake.completions()
        fake.behave(health_status=200)
        await eventually(router.ready)
        await router.complete(context("m"), chat_body("m"))


# -- circuit breaker and health -----------------------------------------------------------------------------


async def test_fault_circuit_opens_and_recovers(fake_upstream: Factory) -> None:
    failing, spare = fake_upstream("failing").behave(mode="error", status=500), fake_upstream("spare")
    pool = unique("ucirc")
    settings = gateway([(pool, [failing.url]), ("spare", [spare.url])],
                       retry={"attempts": 1}, breaker={"failure_threshold": 2, "open_seconds": 0.5})
    labels = {"upstream": pool, "worker": failing.url}
    async with running(settings) as router:
        for _ in range(5):
            assert content(await router.complete(context("m"), chat_body("m"))) == "hello from spare"
        assert len(failing.completions()) == 2  # then the circuit opened: no more requests to it
        assert sample("genai_gateway_circuit_state", **labels) == 2
        assert router.ready()  # the fallback can still serve the model
        failing.behave()
        await asyncio.sleep(0.55)
        assert sample("genai_gateway_circuit_state", **labels) == 1  # half-open
        assert content(await router.complete(context("m"), chat_body("m"))) == "hello from failing"
        assert sample("genai_gateway_circuit_state", **labels) == 0


async def test_fault_worker_killed_is_marked_down_and_up_again_after_restart(fake_upstream: Factory) -> None:
    first, second = fake_upstream("first"), fake_upstream("second")
    name = unique("ukill")
    async with running(gateway([(name, [first.url, second.url])])) as router:
        worker = router.pools[name].workers[0]
        labels = {"upstream": name, "worker": first.url}
        first.stop()
        answers = [await router.complete(context("m"), chat_body("m")) for _ in range(10)]
        assert {content(a) for a in answers} == {"hello from second"}
        await eventually(lambda: not worker.up)
        assert sample("genai_gateway_worker_up", **labels) == 0
        first.start()
        await eventually(lambda: worker.up)
        assert sample("genai_gateway_worker_up", **labels) == 1


# -- load ----------------------------------------------------------------------------------------------------


async def test_fake_vllm_metrics_steer_requests_to_the_less_loaded_worker(fake_upstream: Factory) -> None:
    busy, idle = fake_upstream("busy").behave(running=12, waiting=4, kv_cache=0.9), fake_upstream("idle")
    name = unique("uload")
    async with running(gateway([(name, [busy.url, idle.url])])) as router:
        workers = router.pools[name].workers
        await eventually(lambda: all(w.scraped_at is not None for w in workers))
        answers = [await router.complete(context("m"), chat_body("m")) for _ in range(10)]
        assert {content(a) for a in answers} == {"hello from idle"}
        busy.behave()
        idle.behave(running=12, waiting=4, kv_cache=0.9, old_metric_names=True)
        await eventually(lambda: workers[1].waiting == 4 and workers[0].waiting == 0)
        answers = [await router.complete(context("m"), chat_body("m")) for _ in range(10)]
        assert {content(a) for a in answers} == {"hello from busy"}


async def test_fake_two_workers_spread_concurrent_load(fake_upstream: Factory) -> None:
    first, second = fake_upstream("first").behave(mode="slow", delay=0.3), fake_upstream("second")
    second.behave(mode="slow", delay=0.3)
    async with running(gateway([(unique("uspread"), [first.url, second.url])])) as router:
        answers = await asyncio.gather(*(router.complete(context("m"), chat_body("m")) for _ in range(20)))
    assert Counter(content(a) for a in answers) == {"hello from first": 10, "hello from second": 10}


# -- hosted OpenAI-compatible vendors we cannot reach from tests ---------------------------------------------


async def test_fake_azure_openai_gets_its_path_api_version_and_api_key(fake_upstream: Factory) -> None:
    azure = fake_upstream("azure")
    settings = {
        "upstreams": {"azure": {"base_url": f"{azure.url}/openai/deployments/gpt-4o-mini",
                                "api_version": "2024-10-21", "api_key": "azure-key", "health_path": None}},
        "models": {"m": {"targets": [{"upstream": "azure", "model": "gpt-4o-mini"}]}},
    }
    async with running(settings) as router:
        await router.complete(context("m"), chat_body("m"))
        await router.complete(context("m", endpoint="completions"), {"model": "m", "prompt": "hi"})
    chat, text = azure.completions()
    assert chat.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert text.path == "/openai/deployments/gpt-4o-mini/completions"
    assert chat.query == "api-version=2024-10-21"
    assert chat.headers["api-key"] == "azure-key" and "authorization" not in chat.headers


async def test_fake_hosted_openai_base_url_with_v1_and_bearer_key(fake_upstream: Factory) -> None:
    vendor = fake_upstream("openai")
    settings = {
        "upstreams": {"openai": {"base_url": f"{vendor.url}/v1", "api_key": "sk-test",
                                 "headers": {"OpenAI-Organization": "org-1"}, "vllm_metrics": False}},
        "models": {"m": {"targets": [{"upstream": "openai", "model": "gpt-4o-mini"}]}},
    }
    async with running(settings) as router:
        answer = await router.complete(context("m"), chat_body("m", user="alice", max_tokens=5))
    (received,) = vendor.completions()
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == "Bearer sk-test"
    assert received.headers["openai-organization"] == "org-1"
    # Fields the gateway does not know travel untouched; only the model name changes.
    assert received.body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
                             "user": "alice", "max_tokens": 5, "stream": False}
    assert answer["model"] == "m"
