"""A scripted OpenAI-compatible upstream for the output policies' tests, and a gateway in front of it.

The fake stands in for a model that says exactly what a test needs (a denied term, an e-mail address,
invalid JSON, then valid JSON): no real model can be made to. Tests using it say so (``test_fake_upstream_``).
It answers chat and text completions, JSON or streamed in pieces of ``piece`` characters, with usage
counted as 10 prompt tokens per message (or prompt) and one completion token per word, and records each
request body. The gateway is the real app and router, with the chain a test names, served over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from genai.settings import Settings
from tests.fixtures.gateway import ServerThread

MODEL = "scripted"


@dataclass
class Script:
    """What the fake answers next: ``answers`` in turn (the last one again once they run out)."""

    url: str = ""
    answers: list[str] = field(default_factory=lambda: ["hello"])
    piece: int = 3
    requests: list[dict[str, Any]] = field(default_factory=list)

    def say(self, *answers: str, piece: int = 3) -> None:
        self.answers, self.piece = list(answers), piece
        self.requests.clear()

    def next_answer(self) -> str:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def usage_of(body: dict[str, Any], text: str, n: int) -> dict[str, int]:
    prompt = 10 * len(body.get("messages") or [body.get("prompt")])
    completion = n * len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def scripted_app(script: Script) -> Starlette:
    async def generate(request: Request) -> Response:
        body = orjson.loads(await request.body())
        script.requests.append(body)
        chat = request.url.path.endswith("/chat/completions")
        text, n = script.next_answer(), body.get("n") or 1
        base = {"id": "scripted", "created": int(time.time()), "model": body["model"]}
        if body.get("stream"):
            return StreamingResponse(
                _events(script, body, base, chat, text, n), media_type="text/event-stream"
            )
        choices = [
            {"index": i, "finish_reason": "stop", "logprobs": None}
            | ({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            for i in range(n)
        ]
        kind = "chat.completion" if chat else "text_completion"
        return JSONResponse({**base, "object": kind, "choices": choices, "usage": usage_of(body, text, n)})

    async def health(_: Request) -> Response:
        return Response(b"")

    return Starlette(
        routes=[
            Route("/v1/chat/completions", generate, methods=["POST"]),
            Route("/v1/completions", generate, methods=["POST"]),
            Route("/health", health),
        ]
    )


async def _events(
    script: Script, body: dict[str, Any], base: dict[str, Any], chat: bool, text: str, n: int
) -> AsyncIterator[bytes]:
    kind = "chat.completion.chunk" if chat else "text_completion"

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + orjson.dumps({**base, "object": kind, "choices": choices, **extra}) + b"\n\n"

    def choice(index: int, piece: str, reason: str | None = None) -> dict[str, Any]:
        if chat:
            return {"index": index, "delta": {"content": piece} if piece else {}, "finish_reason": reason}
        return {"index": index, "text": piece, "finish_reason": reason}

    if chat:
        yield event([{"index": i, "delta": {"role": "assistant", "content": ""}} for i in range(n)])
    pieces = [text[at : at + script.piece] for at in range(0, len(text), script.piece)]
    for piece in pieces:  # the choices interleaved, as vLLM sends them
        yield event([choice(i, piece) for i in range(n)])
    yield event([choice(i, "", "stop") for i in range(n)])
    if (body.get("stream_options") or {}).get("include_usage"):
        yield event([], usage=usage_of(body, text, n))
    yield b"data: [DONE]\n\n"


@pytest.fixture(scope="module")
def script() -> Iterator[Script]:
    state = Script()
    with ServerThread(scripted_app(state)) as server:
        state.url = server.url
        yield state


def output_settings(home: Path, script: Script, policies: list[str], **sections: Any) -> Settings:
    """Settings routing ``scripted`` to the fake, with the chain ``policies`` and the other ``sections``
    (``output``, ``tenants``, ``auth``...)."""
    gateway = {
        "retry": {"attempts": 1},
        "upstreams": {"fake": {"kind": "openai", "workers": [script.url], "vllm_metrics": False}},
        "models": {MODEL: {"targets": [{"upstream": "fake", "model": "fake-1"}]}},
        "policies": policies,
    }
    options = {"flush_seconds": 0.05, "replay_seconds": 0.2}
    return Settings.model_validate({"home": home, "gateway": gateway, "accounting": options, **sections})


@contextmanager
def serving(settings: Settings) -> Iterator[httpx.Client]:
    from gateway.app import create_app

    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def chat_body(text: str = "tell me", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **fields}


def stream_text(response: httpx.Response, chat: bool = True) -> dict[int, str]:
    """Each choice's streamed text, by index."""
    texts: dict[int, str] = {}
    for chunk in stream_chunks(response):
        for choice in chunk.get("choices") or ():
            piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
            texts[choice["index"]] = texts.get(choice["index"], "") + (piece or "")
    return texts


def stream_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    lines = [line for line in response.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    return [orjson.loads(line[6:]) for line in lines[:-1]]
