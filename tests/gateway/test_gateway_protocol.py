"""The OpenAI wire models (gateway.protocol) and how validation failures become one 400 naming the field,
checked on the models and over HTTP through the gateway."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel, ValidationError

from gateway.api.body import invalid_request
from gateway.protocol import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelList,
)
from gateway.protocol.chat import AssistantMessage, ImagePart, OtherPart, TextPart, ToolMessage
from tests.fixtures.gateway import CHAT_MODEL, EchoUpstream

USER: Any = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": "m", "messages": USER, **fields}, strict=True)


def failure(model: type[BaseModel], data: dict[str, Any]) -> tuple[str | None, str]:
    """(param, message) of the 400 the gateway answers for ``data``."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data, strict=True)
    error = invalid_request(caught.value.errors(include_url=False), data)
    return error.param, error.message


def test_every_role() -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "s"},
            {"role": "developer", "content": [{"type": "text", "text": "d"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "u"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
                ],
            },
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "result"},
            {"role": "function", "name": "f", "content": "legacy"},
        ]
    )
    assert [type(message).__name__ for message in request.messages] == [
        "SystemMessage",
        "DeveloperMessage",
        "UserMessage",
        "AssistantMessage",
        "ToolMessage",
        "FunctionMessage",
    ]
    user = request.messages[2]
    assert isinstance(user.content, list)
    assert isinstance(user.content[0], TextPart) and isinstance(user.content[1], ImagePart)
    assistant = request.messages[3]
    assert isinstance(assistant, AssistantMessage) and assistant.content is None
    assert assistant.tool_calls is not None and assistant.tool_calls[0].function.name == "f"
    assert isinstance(request.messages[4], ToolMessage)


def test_unknown_content_part_is_passed_on() -> None:
    request = chat(messages=[{"role": "user", "content": [{"type": "video_url", "video_url": {"url": "v"}}]}])
    content = request.messages[0].content
    assert isinstance(content, list) and isinstance(content[0], OtherPart)
    assert content[0].model_extra == {"video_url": {"url": "v"}}


@pytest.mark.parametrize("stop", ["END", ["a", "b"], None])
def test_stop_string_or_list(stop: Any) -> None:
    assert chat(stop=stop).stop == stop


def test_sampling_fields_are_declared_fields() -> None:
    sent: dict[str, Any] = dict(
        n=3,
        max_tokens=10,
        max_completion_tokens=12,
        temperature=0,
        top_p=1,
        seed=-5,
        user="u",
        presence_penalty=-2,
        frequency_penalty=2,
        logit_bias={"17": -100, "42": 5.5},
        logprobs=True,
        top_logprobs=20,
        stream=True,
        stream_options={"include_usage": True},
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        tool_choice={"type": "function", "function": {"name": "f"}},
        parallel_tool_calls=False,
    )
    request = chat(**sent)
    # Each one is validated as a declared field, none set aside as an unknown extra.
    assert request.model_extra == {} and set(sent) <= request.model_fields_set
    assert request.include_usage()
    assert request.tool_choice is not None and not isinstance(request.tool_choice, str)


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "text"},
        {"type": "json_object"},
        {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
        },
    ],
)
def test_response_formats(response_format: dict[str, Any]) -> None:
    assert chat(response_format=response_format).response_format is not None


def test_extra_fields_are_kept() -> None:
    request = chat(top_k=40, repetition_penalty=1.1, guided_json={"type": "object"})
    assert request.model_extra == {"top_k": 40, "repetition_penalty": 1.1, "guided_json": {"type": "object"}}


def test_include_usage_needs_stream() -> None:
    assert not chat().include_usage()
    assert chat(stream=True, stream_options={"include_usage": False}).include_usage() is False


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"temperature": "0.5"}, "temperature"),  # strict, as OpenAI: no numbers in strings
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"n": 1.0}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"logit_bias": {"1": 101}}, "logit_bias.1"),
        ({"top_logprobs": 21}, "top_logprobs"),
        ({"stream": "yes"}, "stream"),
        ({"stop": ["a", 1]}, "stop.1"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format.json_schema.name"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"id": "1", "function": {}}]}]},
            "messages.0.tool_calls.0.function.name",
        ),
        ({"messages": [{"content": "hi"}]}, "messages.0.role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages.0.content.0.image_url.url",
        ),
        ({"messages": "hi"}, "messages"),
    ],
)
def test_invalid_fields_are_named(fields: dict[str, Any], param: str) -> None:
    named, message = failure(ChatCompletionRequest, {"model": "m", "messages": USER, **fields})
    assert named == param
    assert message.startswith(f"Invalid value for '{param}': ")


def test_several_invalid_fields_are_all_mentioned() -> None:
    named, message = failure(ChatCompletionRequest, {"model": "m", "messages": USER, "n": 0, "top_p": 9})
    assert named == "top_p"  # the first in declaration order
    assert "also invalid: n" in message


def test_completion_request_prompts() -> None:
    for prompt in ("text", ["a", "b"], [1, 2, 3], [[1, 2], [3]]):
        request = CompletionRequest.model_validate({"model": "m", "prompt": prompt}, strict=True)
        assert request.prompt == prompt
    named, _ = failure(CompletionRequest, {"model": "m"})
    assert named == "prompt"
    named, _ = failure(CompletionRequest, {"model": "m", "prompt": "x", "logprobs": True})
    assert named == "logprobs"


def test_embedding_request() -> None:
    request = EmbeddingRequest.model_validate({"model": "e", "input": ["a", "b"]}, strict=True)
    assert request.encoding_format == "float" and request.dimensions is None
    named, _ = failure(EmbeddingRequest, {"model": "e", "input": "a", "encoding_format": "int8"})
    assert named == "encoding_format"
    named, _ = failure(EmbeddingRequest, {"model": "e"})
    assert named == "input"


def test_chat_completion_from_upstream_keeps_vendor_extras() -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "reasoning_content": "thinking",
                        "tool_calls": [
                            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        ],
                    },
                }
            ],
            "usage": {
                "prompt_tokens": 1,
                "completion_tokens": 2,
                "total_tokens": 3,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
            "prompt_logprobs": None,
        }
    )
    assert completion.choices[0].message.model_extra == {"reasoning_content": "thinking"}


def test_usage_only_stream_chunk_parses() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        }
    )
    assert chunk.usage is not None and chunk.usage.total_tokens == 3


def test_text_completion_embeddings_and_model_list_parse() -> None:
    text = Completion.model_validate(
        {
            "id": "c",
            "object": "text_completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "text": "t", "finish_reason": "length"}],
        }
    )
    assert text.choices[0].text == "t"
    vectors = EmbeddingResponse.model_validate(
        {
            "object": "list",
            "model": "e",
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
                {"object": "embedding", "index": 1, "embedding": "AAAA"},
            ],
        }
    )
    assert len(vectors.data) == 2
    assert ModelList.model_validate({"object": "list", "data": []}).data == []


def test_request_models_match_the_openai_client_types() -> None:
    """Every field the official client can send for a chat completion is a declared field here."""
    from openai.types.chat import completion_create_params

    client_fields = set(completion_create_params.CompletionCreateParamsBase.__annotations__)
    declared = set(ChatCompletionRequest.model_fields)
    # Passed through as extra fields rather than declared: newer or hosted-only OpenAI features.
    assert {
        "model",
        "messages",
        "temperature",
        "top_p",
        "n",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "user",
        "response_format",
        "tools",
        "tool_choice",
        "stream_options",
        "logprobs",
        "top_logprobs",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
    } <= declared & client_fields


# --- over HTTP: the request is checked before anything is forwarded ---------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"model": CHAT_MODEL, "messages": USER, "temperature": "hot"}, "temperature", "valid number"),
        ({"model": CHAT_MODEL}, "messages", "required"),
        ({"messages": USER}, "model", "required"),
        ({"model": CHAT_MODEL, "messages": []}, "messages", "at least 1"),
        ({"model": CHAT_MODEL, "messages": USER, "temperature": 3}, "temperature", "less than or equal to 2"),
        ({"model": CHAT_MODEL, "messages": USER, "n": 0}, "n", "greater than or equal to 1"),
        (
            {"model": CHAT_MODEL, "messages": [{"role": "wizard", "content": "x"}]},
            "messages.0.role",
            "wizard",
        ),
        (
            {"model": CHAT_MODEL, "messages": [{"role": "tool", "content": "x"}]},
            "messages.0.tool_call_id",
            "required",
        ),
        (
            {"model": CHAT_MODEL, "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages.0.content.0.text",
            "required",
        ),
        (
            {"model": CHAT_MODEL, "messages": USER, "stream_options": {"include_usage": True}},
            "stream_options",
            "only allowed when stream is true",
        ),
        (
            {"model": CHAT_MODEL, "messages": USER, "response_format": {"type": "yaml"}},
            "response_format.type",
            "yaml",
        ),
        ({"model": CHAT_MODEL, "messages": USER, "stop": 5}, "stop", "valid string"),
    ],
)
def test_fake_upstream_invalid_body_names_the_field(
    gateway_http: httpx.Client, echo_upstream: EchoUpstream, body: dict[str, Any], param: str, words: str
) -> None:
    response = gateway_http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param in error["message"] and words in error["message"]
    assert echo_upstream.requests == []


def test_fake_upstream_bad_field_with_openai_client(gateway_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway_client.chat.completions.create(
            model=CHAT_MODEL, messages=USER, extra_body={"temperature": "hot"}
        )
    assert caught.value.param == "temperature"


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"'])
def test_fake_upstream_malformed_body_is_400(gateway_http: httpx.Client, raw: bytes) -> None:
    headers = {"content-type": "application/json"}
    response = gateway_http.post("/v1/chat/completions", content=raw, headers=headers)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
