"""Router pools under purposely failing or fake workers: circuit breaking, health checks, load spreading by
vLLM's gauges, and hosted vendors we cannot reach from tests (Azure OpenAI, hosted OpenAI). Fakes only:
the same routing against real vLLM workers is in test_router_vllm.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from tests.fixtures.fake_upstreams import FakeUpstream
from tests.fixtures.router_calls import chat_body, context, running, unique
from tests.fixtures.router_settings import content, eventually, gateway, sample

pytestmark = pytest.mark.anyio

Factory = Callable[..., FakeUpstream]


# -- circuit breaker and health -----------------------------------------------------------------------------


async def test_fault_circuit_opens_and_recovers(fake_upstream: Factory) -> None:
    failing, spare = fake_upstream("failing").behave(mode="error", status=500), fake_upstream("spare")
    pool = unique("ucirc")
    settings = gateway(
        [(pool, [failing.url]), ("spare", [spare.url])],
        retry={"attempts": 1},
        breaker={"failure_threshold": 2, "open_seconds": 0.5},
    )
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
        "upstreams": {
            "azure": {
                "base_url": f"{azure.url}/openai/deployments/gpt-4o-mini",
                "api_version": "2024-10-21",
                "api_key": "azure-key",
                "health_path": None,
            }
        },
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
        "upstreams": {
            "openai": {
                "base_url": f"{vendor.url}/v1",
                "api_key": "sk-test",
                "headers": {"OpenAI-Organization": "org-1"},
                "vllm_metrics": False,
            }
        },
        "models": {"m": {"targets": [{"upstream": "openai", "model": "gpt-4o-mini"}]}},
    }
    async with running(settings) as router:
        answer = await router.complete(context("m"), chat_body("m", user="alice", max_tokens=5))
    (received,) = vendor.completions()
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == "Bearer sk-test"
    assert received.headers["openai-organization"] == "org-1"
    # Fields the gateway does not know travel untouched; only the model name changes.
    assert received.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "user": "alice",
        "max_tokens": 5,
        "stream": False,
    }
    assert answer["model"] == "m"
