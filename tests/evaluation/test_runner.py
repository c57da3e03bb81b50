"""The evaluation runner over real HTTP through the real gateway: an extractive version registered in
MLflow and served with retrieval from a knowledge base ingested here (citations, usage, cost, the pinned
version), and, in front of the echo upstream (a fake for a model server), the bounds: concurrency,
per-example timeouts, and errors recorded per example instead of raised."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genai.evaluation.eval_set import EvalExample, load_eval_set
from genai.evaluation.results import ExampleResult
from genai.evaluation.runner import RunOptions, request_body, run_examples_sync, wait_until_served
from registry.spec import PriceEntry
from tests.evaluation.flows_env import KB, EvaluationEnv, evaluation_env, extractive
from tests.fixtures.gateway import CHAT_MODEL, EchoUpstream, ServerThread


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[EvaluationEnv]:
    yield from evaluation_env(tmp_path_factory, prefect_api_url)


def examples(count: int, kb: str = "") -> list[EvalExample]:
    return [
        EvalExample(
            id=f"q{i}",
            question=f"question number {i} here",
            reference_answer="unused",
            relevant_doc_ids=["a.md"],
            knowledge_base=kb or "kb",
        )
        for i in range(count)
    ]


def echo_run(url: str, asked: list[EvalExample], **options: Any) -> list[ExampleResult]:
    """The runner against the gateway's static route to the echo upstream (no knowledge base there)."""
    return run_examples_sync(url, CHAT_MODEL, asked, send_knowledge_base=False, **options)


def test_extractive_version_answers_with_citations_through_the_gateway(env: EvaluationEnv) -> None:
    price = PriceEntry(input_per_1m=1000.0, output_per_1m=2000.0)
    entry = env.registry.register("runner-qa", extractive(k=2, price=price))
    wait_until_served(env.gateway_url, entry.ref, timeout=20)
    eval_set = load_eval_set(env.eval_set)

    results = run_examples_sync(env.gateway_url, entry.ref, eval_set.examples, concurrency=3, price=price)

    assert [r.example_id for r in results] == [e.id for e in eval_set.examples]
    for example, result in zip(eval_set.examples, results, strict=True):
        assert result.error is None, result.error
        assert result.answer.strip(), result
        assert len(result.retrieved_doc_ids) == len(result.retrieved_texts) == 2
        assert example.relevant_doc_ids[0] in result.retrieved_doc_ids
        # The cited texts are the knowledge base's chunks, and the extractive answer comes from them.
        assert any(result.answer.strip() in text for text in result.retrieved_texts), result
        assert result.prompt_tokens > 0 and result.completion_tokens > 0
        assert result.cost == pytest.approx(price.cost(result.prompt_tokens, result.completion_tokens))
        assert result.latency_ms > 0
        assert result.scores == {}  # scoring is the flow's step, not the runner's


def test_a_pinned_version_that_does_not_exist_is_an_error_per_example(env: EvaluationEnv) -> None:
    eval_set = load_eval_set(env.eval_set)
    results = run_examples_sync(env.gateway_url, "runner-missing/7", eval_set.examples[:2], timeout=10)
    assert len(results) == 2
    for result in results:
        assert result.error is not None and result.error.startswith("HTTP 404"), result.error
        assert result.answer == "" and result.retrieved_doc_ids == []


def test_knowledge_base_is_sent_only_when_asked() -> None:
    example = examples(1, kb=KB)[0]
    sent = request_body(example, RunOptions("http://gateway", "qa/1", max_tokens=9))
    assert sent["knowledge_base"] == KB and sent["temperature"] == 0 and sent["max_tokens"] == 9
    assert sent["model"] == "qa/1" and sent["messages"] == [{"role": "user", "content": example.question}]
    plain = request_body(example, RunOptions("http://gateway", "qa/1", send_knowledge_base=False))
    assert "knowledge_base" not in plain


def test_fake_upstream_answers_usage_and_latency(
    gateway_server: ServerThread, echo_upstream: EchoUpstream
) -> None:
    asked = examples(5)
    results = echo_run(gateway_server.url, asked, concurrency=2)
    for example, result in zip(asked, results, strict=True):
        assert result.error is None
        assert result.answer == f"echo: {example.question}"
        assert result.prompt_tokens == len(example.question.split())
        assert result.completion_tokens == len(result.answer.split())
        assert result.retrieved_doc_ids == [] and result.cost == 0.0
    bodies = [request["body"] for request in echo_upstream.requests]
    assert all(body["temperature"] == 0 and body["max_tokens"] == 64 for body in bodies)
    assert "knowledge_base" not in bodies[0]


def test_fake_upstream_concurrency_is_bounded(
    gateway_server: ServerThread, echo_upstream: EchoUpstream
) -> None:
    echo_upstream.answer_delay = 0.4
    asked = examples(6)

    started = time.perf_counter()
    serial = echo_run(gateway_server.url, asked, concurrency=1)
    serial_s = time.perf_counter() - started
    started = time.perf_counter()
    parallel = echo_run(gateway_server.url, asked, concurrency=6)
    parallel_s = time.perf_counter() - started

    assert all(r.error is None for r in serial + parallel)
    assert serial_s >= 6 * 0.4  # one at a time: never two answers waited for together
    assert parallel_s < serial_s / 2, (serial_s, parallel_s)  # six at once: about one delay in all
    # Latency is per request, not the run's: each one waited about one answer's delay.
    assert all(0.35 * 1000 <= r.latency_ms < 6 * 0.4 * 1000 for r in parallel)


def test_fake_upstream_timeout_is_recorded_per_example(
    gateway_server: ServerThread, echo_upstream: EchoUpstream
) -> None:
    echo_upstream.answer_delay = 3.0
    results = echo_run(gateway_server.url, examples(2), timeout=0.3)
    assert [r.error for r in results] == ["timed out after 0.3 s"] * 2
    assert all(250 <= r.latency_ms < 2000 for r in results)


def test_fault_gateway_not_listening_is_an_error_per_example() -> None:
    results = echo_run("http://127.0.0.1:9", examples(2), timeout=2)
    assert len(results) == 2
    assert all(r.error is not None and "ConnectError" in r.error for r in results)


def test_fake_gateway_receives_the_client_key() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen: list[str | None] = []

    async def chat(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization"))
        answer = {
            "choices": [{"message": {"content": "ok"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        }
        return JSONResponse(answer)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with ServerThread(app) as fake:
        wait_until_served(fake.url, "qa/1", api_key="gk_test")
        results = run_examples_sync(fake.url, "qa/1", examples(2), api_key="gk_test")
        run_examples_sync(fake.url, "qa/1", examples(1))
    assert [r.answer for r in results] == ["ok", "ok"]
    assert seen == ["Bearer gk_test"] * 3 + [None]


def test_client_key_comes_from_the_settings_or_its_file(tmp_path: Path) -> None:
    from genai.settings import Settings
    from tasks.evaluate import client_key

    assert client_key(Settings(home=tmp_path, auth={"enabled": False, "client_key": "gk_x"})) is None
    assert client_key(Settings(home=tmp_path, auth={"enabled": True})) is None  # no key anywhere
    (tmp_path / "gateway-client.key").write_text("gk_from_file\n")
    assert client_key(Settings(home=tmp_path, auth={"enabled": True})) == "gk_from_file"
    assert client_key(Settings(home=tmp_path, auth={"enabled": True, "client_key": "gk_x"})) == "gk_x"
