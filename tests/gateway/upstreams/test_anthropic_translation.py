"""Anthropic's Messages API behind the OpenAI interface: request, answer and stream translation.

The pure translation functions are checked directly; the round trips go through a fake Anthropic server
because the real vendor cannot be reached from tests (hence ``test_fake_anthropic_...``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from gateway.errors import InvalidRequest
from gateway.upstreams.anthropic import AnthropicStreamDecoder, to_messages_request, to_openai_response
from gateway.upstreams.errors import UpstreamError
from tests.fixtures.fake_upstreams import FakeUpstream
from tests.fixtures.router_calls import chat_body, collect, context, event_json, running

Factory = Callable[..., FakeUpstream]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_request_moves_system_prompts_and_maps_sampling_fields() -> None:
    body = {
        "model": "chat",
        "max_tokens": 64,
        "stop": "END",
        "temperature": 1.6,
        "top_p": 0.9,
        "user": "u-1",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Hi"},
        ],
    }
    out = to_messages_request(body, "claude-x", stream=False, endpoint="chat")
    assert out == {
        "model": "claude-x",
        "max_tokens": 64,
        "system": "Be brief.\n\nUse metric units.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "stop_sequences": ["END"],
        "temperature": 1.0,
        "top_p": 0.9,
        "metadata": {"user_id": "u-1"},
    }


def test_request_defaults_max_tokens_and_prefers_max_completion_tokens() -> None:
    plain = to_messages_request(chat_body("m"), "c", stream=True, endpoint="chat")
    assert plain["max_tokens"] == 4096 and plain["stream"] is True and "system" not in plain
    newer = to_messages_request(
        {**chat_body("m"), "max_tokens": 5, "max_completion_tokens": 7}, "c", stream=False, endpoint="chat"
    )
    assert newer["max_tokens"] == 7 and "stream" not in newer


def test_request_translates_tool_calls_results_and_merges_turns() -> None:
    body = {
        "model": "m",
        "tools": TOOLS,
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "messages": [
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "18C"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
        ],
    }
    out = to_messages_request(body, "c", stream=False, endpoint="chat")
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    user, assistant, results = out["messages"]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }
    # Both tool results and the next user turn merge into one user turn: roles must alternate.
    assert results["role"] == "user" and results["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "-3C"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "18C"},
        {"type": "text", "text": "And this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
    ]
    assert user["content"] == [{"type": "text", "text": "Weather in Oslo and Rome?"}]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_request_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    out = to_messages_request(
        {**chat_body("m"), "tools": TOOLS, "tool_choice": choice}, "c", stream=False, endpoint="chat"
    )
    assert out["tool_choice"] == expected


def test_request_rejects_what_the_vendor_cannot_do() -> None:
    with pytest.raises(InvalidRequest) as raised:
        to_messages_request({**chat_body("m"), "n": 2}, "c", stream=False, endpoint="chat")
    assert raised.value.param == "n"
    bad_call = {"role": "assistant", "tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{"}}]}
    with pytest.raises(InvalidRequest):
        to_messages_request({"model": "m", "messages": [bad_call]}, "c", stream=False, endpoint="chat")


def test_legacy_completions_prompt_becomes_a_user_turn() -> None:
    out = to_messages_request(
        {"model": "m", "prompt": "Once upon", "max_tokens": 3}, "c", stream=False, endpoint="completions"
    )
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Once upon"}]}]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_answer_finish_reason_mapping(stop_reason: str, finish: str) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    assert to_openai_response(message, "m", "chat")["choices"][0]["finish_reason"] == finish


def test_answer_with_tool_use_and_cached_usage() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "stop_reason": "tool_use",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 90,
            "cache_creation_input_tokens": 5,
            "output_tokens": 7,
        },
    }
    answer = to_openai_response(message, "chat", "chat")
    assert answer["object"] == "chat.completion" and answer["model"] == "chat"
    reply = answer["choices"][0]["message"]
    assert reply["content"] == "Let me check."
    assert reply["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
        }
    ]
    assert answer["usage"] == {"prompt_tokens": 105, "completion_tokens": 7, "total_tokens": 112}


def _events(*events: dict[str, Any]) -> list[bytes]:
    return [f"event: {e['type']}\n".encode() + b"data: " + orjson.dumps(e) for e in events]


def test_stream_translation_of_text_tools_finish_and_usage() -> None:
    decoder = AnthropicStreamDecoder("chat", include_usage=True, endpoint="chat")
    raw = _events(
        {
            "type": "message_start",
            "message": {"id": "msg_1", "usage": {"input_tokens": 12, "output_tokens": 1}},
        },
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": "Os'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": 'lo"}'},
        },
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    )
    out = [event_json(e) for e in (decoder.decode(r) for r in raw) if e is not None]
    deltas = [c["choices"][0]["delta"] if c["choices"] else None for c in out]
    assert deltas[:2] == [{"role": "assistant", "content": ""}, {"content": "Checking"}]
    assert deltas[2] == {
        "tool_calls": [
            {
                "index": 0,
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ]
    }
    arguments = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas[3:5])  # type: ignore[index]
    assert arguments == '{"city": "Oslo"}'
    assert out[5]["choices"][0]["finish_reason"] == "tool_calls"
    assert out[6]["choices"] == [] and out[6]["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 9,
        "total_tokens": 21,
    }
    assert {c["model"] for c in out} == {"chat"} and {c["id"] for c in out} == {"msg_1"}
    assert decoder.done and decoder.finished


def test_stream_without_include_usage_meters_but_sends_no_usage_chunk() -> None:
    decoder = AnthropicStreamDecoder("chat", include_usage=False, endpoint="chat")
    raw = _events(
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 3}}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    )
    out = [decoder.decode(r) for r in raw]
    assert out[2] is None and decoder.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert event_json(out[1])["choices"][0]["finish_reason"] == "length"  # type: ignore[arg-type]


def test_stream_error_event_and_garbage_raise() -> None:
    decoder = AnthropicStreamDecoder("chat", include_usage=False, endpoint="chat")
    with pytest.raises(UpstreamError) as raised:
        error = b'{"type":"error","error":{"type":"overloaded_error","message":"busy"}}'
        decoder.decode(b"event: error\ndata: " + error)
    assert raised.value.reason == "stream_error" and raised.value.message == "busy"
    with pytest.raises(UpstreamError) as garbage:
        decoder.decode(b"data: {not json")
    assert garbage.value.reason == "malformed" and garbage.value.retryable


def _settings(url: str, **upstream: Any) -> dict[str, Any]:
    return {
        "upstreams": {"claude": {"kind": "anthropic", "base_url": url, "api_key": "sk-ant-test", **upstream}},
        "models": {"assistant": {"targets": [{"upstream": "claude", "model": "claude-haiku"}]}},
    }


@pytest.mark.anyio
async def test_fake_anthropic_translation_round_trip(fake_upstream: Factory) -> None:
    vendor = fake_upstream("claude", flavour="anthropic")
    async with running(_settings(vendor.url)) as router:
        ctx = context("assistant")
        body = {
            "model": "assistant",
            "messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hello"}],
            "max_tokens": 20,
        }
        answer = await router.complete(ctx, body)
    assert answer["object"] == "chat.completion" and answer["model"] == "assistant"
    assert answer["choices"][0] == {
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": "hello from claude"},
    }
    assert ctx.usage == {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}
    (received,) = vendor.completions()
    assert received.path == "/v1/messages"
    assert received.headers["x-api-key"] == "sk-ant-test"
    assert received.headers["anthropic-version"] == "2023-06-01"
    assert received.headers["x-request-id"] == ctx.request_id and "authorization" not in received.headers
    assert received.body == {
        "model": "claude-haiku",
        "max_tokens": 20,
        "system": "Be nice.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
    }


@pytest.mark.anyio
async def test_fake_anthropic_translation_of_a_stream(fake_upstream: Factory) -> None:
    vendor = fake_upstream("claude", flavour="anthropic")
    async with running(_settings(vendor.url)) as router:
        ctx = context("assistant", stream=True)
        body = chat_body("assistant", stream=True, stream_options={"include_usage": True})
        events = await collect(await router.stream(ctx, body))
    assert events[-1] == b"data: [DONE]\n\n"
    chunks = [event_json(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        == "claude-0 claude-1 claude-2 "
    )
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    assert ctx.usage == chunks[-1]["usage"]
    assert vendor.completions()[0].body["stream"] is True


@pytest.mark.anyio
async def test_fake_anthropic_overloaded_error_event_is_retried(fake_upstream: Factory) -> None:
    vendor = fake_upstream("claude", flavour="anthropic").behave(mode="error_event", fail_first=1)
    async with running(_settings(vendor.url)) as router:
        events = await collect(
            await router.stream(context("assistant", stream=True), chat_body("assistant", stream=True))
        )
    assert b"error" not in b"".join(events) and len(vendor.completions()) == 2


@pytest.mark.anyio
async def test_fake_anthropic_legacy_completion(fake_upstream: Factory) -> None:
    vendor = fake_upstream("claude", flavour="anthropic")
    async with running(_settings(vendor.url)) as router:
        answer = await router.complete(
            context("assistant", endpoint="completions"), {"model": "assistant", "prompt": "Say hi"}
        )
    assert answer["object"] == "text_completion" and answer["choices"][0]["text"] == "hello from claude"
    assert vendor.completions()[0].body["messages"][0]["content"][0]["text"] == "Say hi"
