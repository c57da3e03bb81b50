"""Running an eval set's questions through the gateway: one chat completion per example, as online traffic.

Each candidate answers through the same serving path as a user's request (the gateway's policy chain, its
retrieval and its model), pinned to one version by asking for ``NAME/N``. Requests go out concurrently,
at most ``concurrency`` in flight, each with its own timeout and temperature 0. Whatever goes wrong with
one example (a timeout, an error answer, a broken body) becomes that example's ``error``; a run never
raises for one example. Scoring is not done here (``genai.evaluation.results``): this module only records
what the gateway answered, with the latency measured around each request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

if TYPE_CHECKING:
    from genai.evaluation.eval_set import EvalExample
    from genai.evaluation.results import ExampleResult

VERSION_HEADER = "x-genai-model-version"
_T = TypeVar("_T")


class Price(Protocol):
    """What a request costs (``registry.spec.PriceEntry`` is one; the kernel does not import it)."""

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float: ...


@dataclass(frozen=True)
class RunOptions:
    """How one candidate is run: the gateway's address, the pinned model and the request's bounds."""

    gateway_url: str
    model_ref: str
    concurrency: int = 4
    timeout: float = 120.0
    max_tokens: int = 64
    price: Price | None = None
    send_knowledge_base: bool = True  # send each example's knowledge base (the version retrieves from it)


async def run_examples(
    gateway_url: str,
    model_ref: str,
    examples: Sequence[EvalExample],
    *,
    concurrency: int = 4,
    timeout: float = 120.0,
    max_tokens: int = 64,
    price: Price | None = None,
    send_knowledge_base: bool = True,
    api_key: str | None = None,
) -> list[ExampleResult]:
    """Every example's answer from ``model_ref`` through the gateway at ``gateway_url``, in input order.

    ``api_key`` is sent as ``Authorization: Bearer`` (a gateway with authentication on needs one)."""
    options = RunOptions(
        gateway_url.rstrip("/"),
        model_ref,
        max(1, concurrency),
        timeout,
        max_tokens,
        price,
        send_knowledge_base,
    )
    gate = asyncio.Semaphore(options.concurrency)
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    async with httpx.AsyncClient(
        base_url=options.gateway_url, limits=limits, timeout=timeout, headers=auth_headers(api_key)
    ) as client:

        async def one(example: EvalExample) -> ExampleResult:
            async with gate:
                return await _answer(client, example, options)

        return list(await asyncio.gather(*(one(example) for example in examples)))


def run_examples_sync(
    gateway_url: str, model_ref: str, examples: Sequence[EvalExample], **options: Any
) -> list[ExampleResult]:
    """``run_examples`` from synchronous code (a Prefect task, the CLI), even under a running event loop."""
    return run_coroutine(run_examples(gateway_url, model_ref, examples, **options))


def run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to completion; in a thread of its own when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed to the caller's thread below
            box["error"] = error

    thread = threading.Thread(target=target, name="eval-runner")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The runner's headers: its key, and ``Cache-Control: no-cache`` (an evaluation measures the model's
    answers and latency, never the gateway's cache)."""
    headers = {"cache-control": "no-cache"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def wait_until_served(
    gateway_url: str, model_ref: str, timeout: float = 10.0, api_key: str | None = None
) -> None:
    """Wait until the gateway knows ``model_ref``: a version registered a moment ago reaches a running
    gateway at its next registry poll, and evaluating before that would score a 404 for every example.
    Returns at the first answer that is not a 404 (errors other than "unknown model" are the run's to
    record); after ``timeout`` the run goes ahead and records what the gateway says."""
    body = {"model": model_ref, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    deadline = time.monotonic() + timeout
    with httpx.Client(
        base_url=gateway_url.rstrip("/"), timeout=timeout, headers=auth_headers(api_key)
    ) as client:
        while True:
            try:
                if client.post("/v1/chat/completions", json=body).status_code != 404:
                    return
            except httpx.HTTPError:
                pass  # not listening yet, or the probe timed out: try again until the deadline
            if time.monotonic() >= deadline:
                return
            time.sleep(0.5)


def request_body(example: EvalExample, options: RunOptions) -> dict[str, Any]:
    """The chat completion one example sends: the question alone, deterministic, bounded."""
    body: dict[str, Any] = {
        "model": options.model_ref,
        "messages": [{"role": "user", "content": example.question}],
        "temperature": 0,
        "max_tokens": options.max_tokens,
        "user": f"eval:{example.id}",
    }
    if options.send_knowledge_base and example.knowledge_base:
        body["knowledge_base"] = example.knowledge_base
    return body


async def _answer(client: httpx.AsyncClient, example: EvalExample, options: RunOptions) -> ExampleResult:
    started = time.perf_counter()
    try:
        response = await client.post("/v1/chat/completions", json=request_body(example, options))
        latency_ms = (time.perf_counter() - started) * 1000
        return _parse(example, response, latency_ms, options)
    except httpx.TimeoutException:
        return _failed(example, started, f"timed out after {options.timeout:g} s")
    except httpx.HTTPError as error:
        return _failed(example, started, f"{type(error).__name__}: {error}")


def _parse(
    example: EvalExample, response: httpx.Response, latency_ms: float, options: RunOptions
) -> ExampleResult:
    if response.status_code != 200:
        return _result(example, latency_ms, error=f"HTTP {response.status_code}: {_error_message(response)}")
    served = response.headers.get(VERSION_HEADER)
    if served is not None and served != options.model_ref:
        # A pinned version must be what answered: a canary or a stale route would mix two models' numbers.
        return _result(example, latency_ms, error=f"the gateway served {served}, not {options.model_ref}")
    try:
        body = response.json()
        answer = body["choices"][0]["message"].get("content") or ""
        usage = body.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        citations = body.get("citations") or []
        doc_ids = [str(citation["doc_id"]) for citation in citations]
        texts = [str(citation.get("text") or "") for citation in citations]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        return _result(example, latency_ms, error=f"unreadable answer ({type(error).__name__}: {error})")
    cost = options.price.cost(prompt_tokens, completion_tokens) if options.price is not None else 0.0
    return _result(
        example,
        latency_ms,
        answer=str(answer),
        retrieved_doc_ids=doc_ids,
        retrieved_texts=texts,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=cost,
    )


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:300] or response.reason_phrase


def _failed(example: EvalExample, started: float, error: str) -> ExampleResult:
    return _result(example, (time.perf_counter() - started) * 1000, error=error)


def _result(example: EvalExample, latency_ms: float, **fields: Any) -> ExampleResult:
    from genai.evaluation.results import ExampleResult

    return ExampleResult(
        example_id=example.id,
        question=example.question,
        reference_answer=example.reference_answer,
        latency_ms=latency_ms,
        **{"answer": "", "retrieved_doc_ids": [], "retrieved_texts": [], **fields},
    )
