"""The router under purposely failing upstreams: retries, Retry-After, timeouts, deadlines, broken streams,
and fallback to the next provider.

Every upstream here is a fake (tests/fixtures/fake_upstreams.py) because the faults are injected on
purpose; the same routing against real vLLM workers is in test_router_vllm.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gateway.context import RequestContext
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    InvalidRequest,
    NoHealthyUpstream,
    RateLimited,
    UpstreamFailed,
)
from tests.fixtures.fake_upstreams import FakeUpstream, unused_url
from tests.fixtures.router_calls import chat_body, collect, context, event_json, running, unique
from tests.fixtures.router_settings import FAST_RETRY, content, eventually, gateway, sample

pytestmark = pytest.mark.anyio

Factory = Callable[..., FakeUpstream]


def assert_router_kept_the_deadline(ctx: RequestContext, deadline: float, *, reached: bool = True) -> None:
    """The router's own clock (``ctx.router_started``/``router_stopped``), not the test's wall time: it
    worked on the request until the deadline (``reached``) and not a quarter longer (plus 0.1 s for the
    event loop), so a router that overshoots by half again fails."""
    assert ctx.router_started is not None and ctx.router_stopped is not None, "the router kept no time"
    assert ctx.router_seconds is not None
    if reached:
        assert ctx.router_stopped >= ctx.deadline, f"stopped {ctx.deadline - ctx.router_stopped:.3f}s early"
    assert ctx.router_seconds < deadline * 1.25 + 0.1, f"the router spent {ctx.router_seconds:.3f}s"


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
    assert 0.3 <= second.at - first.at < 5.0  # 0.3 s, not the 30 s asked


async def test_fault_429_sends_the_retry_to_another_worker_at_once(fake_upstream: Factory) -> None:
    limited, free = fake_upstream("limited").behave(mode="rate_limit", retry_after="5"), fake_upstream("free")
    started = time.monotonic()
    async with running(gateway([(unique("u429b"), [limited.url, free.url])])) as router:
        answers = [await router.complete(context("m"), chat_body("m")) for _ in range(6)]
    assert {content(a) for a in answers} == {"hello from free"}
    assert len(limited.completions()) == 1  # cooling down after its 429: not asked again
    assert time.monotonic() - started < 3.0  # nobody waited out the 5 s Retry-After


async def test_fault_429_everywhere_beyond_the_deadline_answers_429(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="rate_limit", retry_after="30")
    async with running(gateway([(unique("u429c"), [fake.url])])) as router:
        ctx = context("m", deadline=1.0)
        with pytest.raises(RateLimited):
            await router.complete(ctx, chat_body("m"))
    # The 30 s Retry-After is beyond the deadline: the router gives up at once rather than wait past it.
    assert_router_kept_the_deadline(ctx, 1.0, reached=False)


# -- slow, hanging, deadlines ---------------------------------------------------------------------------


async def test_fault_slow_worker_times_out_and_the_retry_goes_to_the_other(fake_upstream: Factory) -> None:
    slow, quick = fake_upstream("slow").behave(mode="slow", delay=3.0), fake_upstream("quick")
    name = unique("uslow")
    async with running(gateway([(name, [slow.url, quick.url])], upstream={"timeout": 0.4})) as router:
        started = time.monotonic()
        ctx = context("m")
        answer = await router.complete(ctx, chat_body("m"))
    assert content(answer) == "hello from quick"
    assert time.monotonic() - started < 2.6  # the 3 s answer was not waited for
    assert ctx.attempts == 2
    assert sample("genai_gateway_errors_total", model="m", worker=slow.url, type="timeout") == 1


async def test_fault_hang_past_the_deadline_answers_504_on_time(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="hang")
    async with running(gateway([(unique("uhang"), [fake.url])])) as router:
        ctx = context("m", deadline=0.5)
        with pytest.raises(DeadlineExceeded):
            await router.complete(ctx, chat_body("m"))
        assert_router_kept_the_deadline(ctx, 0.5)  # the hang never ends by itself
        ctx = context("m", stream=True, deadline=0.5)
        with pytest.raises(DeadlineExceeded):
            await router.stream(ctx, chat_body("m", stream=True))
        assert_router_kept_the_deadline(ctx, 0.5)
        assert router.pools[next(iter(router.pools))].workers[0].in_flight == 0


async def test_fault_stream_hanging_mid_stream_ends_with_an_error_event_by_the_deadline(
    fake_upstream: Factory,
) -> None:
    fake = fake_upstream("a").behave(mode="stall", reset_after=1)
    async with running(gateway([(unique("uhang2"), [fake.url])])) as router:
        ctx = context("m", stream=True, deadline=0.8)
        events = await collect(await router.stream(ctx, chat_body("m", stream=True)))
    assert_router_kept_the_deadline(ctx, 0.8)  # the stall never ends by itself
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
        events = await collect(
            await router.stream(context("m", stream=True, deadline=30), chat_body("m", stream=True))
        )
        assert 0.25 <= time.monotonic() - started < 5.0  # far below the 30 s deadline
        assert router.pools[name].workers[0].in_flight == 0
    assert event_json(events[-2])["error"]["code"] == "bad_gateway"
    assert sample("genai_gateway_errors_total", model="m", worker=fake.url, type="timeout") == 1


async def test_fault_retries_stop_at_the_deadline(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="slow", delay=0.2)
    retry = {"attempts": 10, "base_delay": 0.5, "max_delay": 0.5}
    async with running(
        gateway([(unique("udl"), [fake.url])], retry=retry, upstream={"timeout": 0.1})
    ) as router:
        ctx = context("m", deadline=0.6)
        with pytest.raises(GatewayError) as raised:
            await router.complete(ctx, chat_body("m"))
    assert raised.value.status in (502, 504)
    # Not the ten attempts (6 s) the settings allow; a back-off longer than the time left is not slept.
    assert_router_kept_the_deadline(ctx, 0.6, reached=False)


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
        {"role": "assistant", "content": ""},
        {"content": "a-0 "},
    ]
    error = event_json(events[2])["error"]
    assert error["type"] == "upstream_error" and error["code"] == "bad_gateway"
    assert events[3:] == [b"data: [DONE]\n\n"]
    assert len(fake.completions()) == 1  # bytes had reached the client: no retry
    assert sample("genai_gateway_errors_total", model="m", worker=fake.url, type="disconnect") == 1


async def test_fault_reset_before_the_first_event_is_retried_transparently(fake_upstream: Factory) -> None:
    fake = fake_upstream("a").behave(mode="reset", reset_after=-1, fail_first=1)
    model = unique("mreset")
    async with running(gateway([(unique("ureset2"), [fake.url])], model=model)) as router:
        ctx = context(model, stream=True)
        events = await collect(await router.stream(ctx, chat_body(model, stream=True)))
    chunks = [event_json(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "a-0 a-1 a-2 "
    assert {c["model"] for c in chunks} == {model}
    assert all(c["choices"] for c in chunks)  # no usage chunk: the client did not ask for it
    assert events[-1] == b"data: [DONE]\n\n" and ctx.attempts == 2
    # Usage was still requested upstream and recorded for the usage record (the API layer meters it).
    assert fake.completions()[-1].body["stream_options"] == {"include_usage": True}
    assert ctx.usage == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


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
    settings = gateway(
        [(unique("udead"), [unused_url(), unused_url()]), ("vendor", [vendor.url])],
        kinds={"vendor": "anthropic"},
        health_interval=10,
    )
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
