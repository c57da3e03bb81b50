"""The gateway in front of a real vLLM server (the offline tiny model), driven by the official openai client:
whatever a client gets through the gateway equals what vLLM itself answers (usage numbers, n > 1, stop
sequences, greedy determinism, streaming), apart from the client-facing model name.

The worker comes from tests/fixtures/vllm.py (session-scoped, ~40 s to start on CPU); without vLLM's venv
these tests skip, or fail under GENAI_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.app import create_app
from genai.llm.worker import WorkerProcess
from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from tests.fixtures.gateway import ServerThread

pytestmark = pytest.mark.slow

MODEL = "tiny-chat"
PROMPT: Any = [{"role": "user", "content": "Tell me a story about the sea."}]


@pytest.fixture(scope="module")
def vllm_gateway(vllm_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The gateway's base URL, routing ``tiny-chat`` to the vLLM worker's ``tiny``."""
    vllm_worker.ensure_ready()
    gateway = GatewaySettings.model_validate(
        {
            "upstreams": {"vllm": {"workers": [vllm_worker.url], "timeout": 120}},
            "models": {MODEL: {"targets": [{"upstream": "vllm", "model": vllm_worker.served_model_name}]}},
            "deadline_seconds": 120,
        }
    )
    settings = Settings(home=Path(tmp_path_factory.mktemp("gateway-vllm")), gateway=gateway)
    with ServerThread(create_app(settings)) as server:
        yield server.url


@pytest.fixture
def via_gateway(vllm_gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{vllm_gateway}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture
def direct(vllm_worker: WorkerProcess) -> openai.OpenAI:
    vllm_worker.ensure_ready()
    return openai.OpenAI(base_url=f"{vllm_worker.url}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture
def tiny(vllm_worker: WorkerProcess) -> str:
    return vllm_worker.served_model_name


def test_usage_and_text_equal_vllm(via_gateway: openai.OpenAI, direct: openai.OpenAI, tiny: str) -> None:
    options: dict[str, Any] = {"messages": PROMPT, "max_tokens": 24, "temperature": 0}
    mine = via_gateway.chat.completions.create(model=MODEL, **options)
    theirs = direct.chat.completions.create(model=tiny, **options)
    assert mine.model == MODEL
    assert mine.usage is not None and theirs.usage is not None
    assert mine.usage.prompt_tokens == theirs.usage.prompt_tokens > 0
    assert mine.usage.completion_tokens == theirs.usage.completion_tokens > 0
    assert mine.usage.total_tokens == theirs.usage.total_tokens
    assert mine.choices[0].message.content == theirs.choices[0].message.content
    assert mine.choices[0].finish_reason == theirs.choices[0].finish_reason


def test_greedy_is_deterministic(via_gateway: openai.OpenAI) -> None:
    answers = {
        via_gateway.chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=16, temperature=0)
        .choices[0]
        .message.content
        for _ in range(3)
    }
    assert len(answers) == 1


def test_n_choices_with_seed_equal_vllm(via_gateway: openai.OpenAI, direct: openai.OpenAI, tiny: str) -> None:
    options: dict[str, Any] = {"messages": PROMPT, "max_tokens": 12, "temperature": 1.0, "n": 3, "seed": 1234}
    mine = via_gateway.chat.completions.create(model=MODEL, **options)
    theirs = direct.chat.completions.create(model=tiny, **options)
    assert sorted(choice.index for choice in mine.choices) == [0, 1, 2]
    assert mine.usage is not None and theirs.usage is not None
    assert mine.usage.completion_tokens == theirs.usage.completion_tokens
    assert [c.message.content for c in mine.choices] == [c.message.content for c in theirs.choices]


def test_stop_sequence(via_gateway: openai.OpenAI, direct: openai.OpenAI, tiny: str) -> None:
    free = direct.completions.create(model=tiny, prompt="The sea is", max_tokens=24, temperature=0)
    text = free.choices[0].text
    assert len(text) > 8, "the tiny model wrote too little to pick a stop sequence from"
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    mine = via_gateway.completions.create(
        model=MODEL, prompt="The sea is", max_tokens=24, temperature=0, stop=[stop]
    )
    theirs = direct.completions.create(
        model=tiny, prompt="The sea is", max_tokens=24, temperature=0, stop=[stop]
    )
    assert mine.choices[0].text == theirs.choices[0].text == text[: text.index(stop)]
    assert mine.choices[0].finish_reason == "stop"
    assert mine.usage is not None and theirs.usage is not None
    assert mine.usage.completion_tokens == theirs.usage.completion_tokens


def test_max_tokens_finishes_with_length(via_gateway: openai.OpenAI) -> None:
    answer = via_gateway.chat.completions.create(
        model=MODEL, messages=PROMPT, max_tokens=3, temperature=0, extra_body={"ignore_eos": True}
    )
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.completion_tokens == 3


def test_stream_matches_non_stream(via_gateway: openai.OpenAI, direct: openai.OpenAI, tiny: str) -> None:
    options: dict[str, Any] = {"messages": PROMPT, "max_tokens": 20, "temperature": 0}
    whole = direct.chat.completions.create(model=tiny, **options)
    chunks = list(
        via_gateway.chat.completions.create(
            model=MODEL, stream=True, stream_options={"include_usage": True}, **options
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert all(chunk.model == MODEL for chunk in chunks)
    usage = chunks[-1].usage
    assert usage is not None and whole.usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        whole.usage.prompt_tokens,
        whole.usage.completion_tokens,
    )
    # Without include_usage no chunk carries usage, though the gateway metered it.
    plain = list(via_gateway.chat.completions.create(model=MODEL, stream=True, **options))
    assert all(chunk.usage is None for chunk in plain)


def test_raw_stream_ends_with_done(vllm_gateway: str) -> None:
    body = {"model": MODEL, "prompt": "Once", "max_tokens": 8, "temperature": 0, "stream": True}
    with (
        httpx.Client(base_url=vllm_gateway, timeout=120) as http,
        http.stream("POST", "/v1/completions", json=body) as response,
    ):
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(event.startswith("data: ") for event in events)


def test_vllm_extra_parameters_pass_through(
    via_gateway: openai.OpenAI, direct: openai.OpenAI, tiny: str
) -> None:
    """vLLM's own sampling fields (top_k, min_tokens) reach it through the gateway."""
    extra = {"top_k": 1, "min_tokens": 6, "ignore_eos": True}
    mine = via_gateway.chat.completions.create(
        model=MODEL, messages=PROMPT, max_tokens=6, temperature=1.0, extra_body=extra
    )
    theirs = direct.chat.completions.create(
        model=tiny, messages=PROMPT, max_tokens=6, temperature=1.0, extra_body=extra
    )
    # top_k=1 makes sampling greedy whatever the temperature: both answers are the greedy one.
    assert mine.choices[0].message.content == theirs.choices[0].message.content
    assert mine.usage is not None and mine.usage.completion_tokens == 6
