"""Bodies of millions of tiny items: each gets a prompt 400 naming the list that is too long, and the
event loop keeps serving others meanwhile. Before the structural checks of ``gateway.api.shape``, one 4 MiB
body of ``[1,1,1,...]`` held the loop for 17-50 s and took gigabytes (pydantic built an error per item).

The stall is measured by the loop's own clock: a ticker task on the app's loop notes how late each of its
5 ms sleeps wakes up, while the hostile request is served by the app in the same loop. A scripted router
stands in for the upstreams (``test_fault_*``): these bodies never reach it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.errors import UpstreamFailed
from tests.fixtures.gateway import FaultyRouter, gateway_settings

MAX_BODY = 4 * 1024 * 1024
# A 4 MiB body of the worst shape takes ~0.15 s to parse here; each request must leave the loop free
# well within a second (the items it holds once cost 17-50 s).
MAX_LAG_S = 1.0


def filled(head: bytes, item: bytes, tail: bytes) -> bytes:
    """``head`` + as many comma-separated ``item`` as fit in the body limit + ``tail``."""
    count = (MAX_BODY - len(head) - len(tail) - 1024) // (len(item) + 1)
    return head + b",".join([item] * count) + tail


def entries(head: bytes, value: bytes, tail: bytes) -> bytes:
    """``head`` + as many distinct ``"<n>": value`` entries as fit in the body limit + ``tail``."""
    items: list[bytes] = []
    size = len(head) + len(tail) + 1024
    while size < MAX_BODY:
        items.append(b'"%d":%s' % (len(items), value))
        size += len(items[-1]) + 1
    return head + b",".join(items[:-1]) + tail


CHAT_HEAD = b'{"model":"m","messages":[{"role":"user","content":"x"}]'
HOSTILE = [
    ("messages", "chat", filled(b'{"model":"m","messages":[', b"1", b"]}"), "messages"),
    (
        "content_parts",
        "chat",
        filled(b'{"model":"m","messages":[{"role":"user","content":[', b"{}", b"]}]}"),
        "messages",
    ),
    ("stop", "chat", filled(CHAT_HEAD + b',"stop":[', b"1", b"]}"), "stop"),
    ("tools", "chat", filled(CHAT_HEAD + b',"tools":[', b"1", b"]}"), "tools"),
    ("logit_bias", "chat", entries(CHAT_HEAD + b',"logit_bias":{', b'"x"', b"}}"), "logit_bias"),
    ("metadata", "chat", entries(CHAT_HEAD + b',"metadata":{', b"1", b"}}"), "metadata"),
    (
        "tool_calls",
        "chat",
        filled(b'{"model":"m","messages":[{"role":"assistant","tool_calls":[', b"1", b"]}]}"),
        "messages",
    ),
    ("prompt_texts", "completions", filled(b'{"model":"m","prompt":["a",', b"1", b"]}"), "prompt"),
    ("prompt_ids", "completions", filled(b'{"model":"m","prompt":[', b"1.5", b"]}"), "prompt"),
    ("prompt_id_lists", "completions", filled(b'{"model":"m","prompt":[', b"[1]", b"]}"), "prompt"),
    ("input", "embeddings", filled(b'{"model":"m","input":[', b"[1.5]", b"]}"), "input"),
]
PATHS = {"chat": "/v1/chat/completions", "completions": "/v1/completions", "embeddings": "/v1/embeddings"}


async def serve_while_ticking(app: Any, path: str, body: bytes) -> tuple[httpx.Response, float]:
    """The app's answer to ``body``, and the longest the loop was late for a 5 ms timer meanwhile."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal worst
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - before - 0.005)

    ticker = loop.create_task(tick())
    await asyncio.sleep(0.02)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=120) as client:
        response = await client.post(path, content=body, headers={"content-type": "application/json"})
    await asyncio.sleep(0.02)
    done.set()
    await ticker
    return response, worst


@pytest.fixture
def app(tmp_path: Path) -> Any:
    router = FaultyRouter()
    router.error = UpstreamFailed("the scripted router answers nothing")
    return create_app(gateway_settings(tmp_path, "http://127.0.0.1:9"), router=router)


@pytest.mark.parametrize(("endpoint", "body", "param"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_fault_millions_of_items_are_a_prompt_400(app: Any, endpoint: str, body: bytes, param: str) -> None:
    assert len(body) <= MAX_BODY
    response, lag = asyncio.run(serve_while_ticking(app, PATHS[endpoint], body))
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["param"] == param, error
    assert "at most" in error["message"]
    assert len(response.content) < 1000  # one reason, not one per item
    assert lag < MAX_LAG_S, f"the event loop stalled {lag:.2f}s"


def test_fault_many_items_within_the_limits_are_validated_quickly(app: Any) -> None:
    """Bad items up to the limits: pydantic stops at the first bad item of a list and reports few."""
    messages = b"[" + b",".join([b'{"role":"user","content":"x"}'] * 2047 + [b"1"]) + b"]"
    body = b'{"model":"m","messages":' + messages + b"}"
    response, lag = asyncio.run(serve_while_ticking(app, PATHS["chat"], body))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages.2047"
    assert lag < MAX_LAG_S


def test_fault_a_large_valid_body_passes_the_checks(app: Any) -> None:
    """A vendor field of a million empty objects is not the checks' business: it reaches the router."""
    body = filled(CHAT_HEAD + b',"vendor":[', b"{}", b"]}")
    response, lag = asyncio.run(serve_while_ticking(app, PATHS["chat"], body))
    assert response.status_code == 502  # what the scripted router answers
    assert lag < MAX_LAG_S


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"model": "m" * 300}, "model"), ({"stop": ["s"] * 17}, "stop"), ({"tools": [{}] * 129}, "tools")],
)
def test_fault_limits_name_the_field_and_the_limit(app: Any, fields: dict[str, Any], param: str) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], **fields}

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.post(PATHS["chat"], json=body)

    response = asyncio.run(post())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert "at most" in error["message"] and "m" * 101 not in error["message"]
