"""Cheap structural checks on a parsed body, before pydantic validates it.

Validation costs time and memory per item, and far more per invalid item (each error is a Python dict,
and a union tries every branch): a few megabytes of ``[1,1,1,...]`` once held the event loop for tens of
seconds and took gigabytes. These checks bound every list and map a client could make long, so what
validation may cost is bounded by ``gateway.request_limits``. They look only at lengths, at most one step
below the top level (each message's content and tool calls, each prompt's token ids): O(top-level items),
nothing on a normal body that validation would not touch anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from gateway.errors import InvalidRequest
from gateway.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from genai.settings.gateway_limits import RequestLimits

Check = Callable[[dict[str, Any], RequestLimits], None]


def check_shape(data: dict[str, Any], model: type[BaseModel], limits: RequestLimits) -> None:
    """Raise ``InvalidRequest`` naming the first field longer than its limit."""
    name = data.get("model")
    if isinstance(name, str) and len(name) > limits.max_model_name:
        raise InvalidRequest(
            f"Invalid value for 'model': the name is {len(name)} characters long; at most "
            f"{limits.max_model_name} are allowed.",
            param="model",
        )
    check = _CHECKS.get(model)
    if check is not None:
        check(data, limits)


def _at_most(value: Any, limit: int, param: str, what: str) -> None:
    if isinstance(value, list | dict) and len(value) > limit:
        raise InvalidRequest(
            f"Invalid value for '{param}': it holds {len(value)} {what}; at most {limit} are allowed.",
            param=param,
        )


def _sampling(data: dict[str, Any], limits: RequestLimits) -> None:
    stop = data.get("stop")
    if isinstance(stop, list):
        _at_most(stop, limits.max_stop, "stop", "sequences")
    _at_most(data.get("logit_bias"), limits.max_map_entries, "logit_bias", "entries")


def _chat(data: dict[str, Any], limits: RequestLimits) -> None:
    _sampling(data, limits)
    messages = data.get("messages")
    if isinstance(messages, list):
        _at_most(messages, limits.max_messages, "messages", "messages")
        parts = calls = 0
        for message in messages:
            if isinstance(message, dict):
                content = message.get("content")
                parts += len(content) if isinstance(content, list) else 0
                tool_calls = message.get("tool_calls")
                calls += len(tool_calls) if isinstance(tool_calls, list) else 0
        if parts > limits.max_content_parts:
            raise InvalidRequest(
                f"Invalid value for 'messages': they hold {parts} content parts together; at most "
                f"{limits.max_content_parts} are allowed.",
                param="messages",
            )
        if calls > limits.max_tool_calls:
            raise InvalidRequest(
                f"Invalid value for 'messages': they hold {calls} tool calls together; at most "
                f"{limits.max_tool_calls} are allowed.",
                param="messages",
            )
    tools = data.get("tools")
    if isinstance(tools, list):
        _at_most(tools, limits.max_tools, "tools", "tools")
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        _at_most(metadata, limits.max_map_entries, "metadata", "entries")


def _inputs(value: Any, param: str, limits: RequestLimits) -> None:
    """A prompt or embedding input: a text, texts, token ids, or lists of token ids."""
    if not isinstance(value, list) or not value:
        return
    if isinstance(value[0], list):
        _at_most(value, limits.max_inputs, param, "token-id lists")
        ids = sum(len(item) for item in value if isinstance(item, list))
    elif isinstance(value[0], str):
        _at_most(value, limits.max_inputs, param, "texts")
        return
    else:
        ids = len(value)
    if ids > limits.max_token_ids:
        raise InvalidRequest(
            f"Invalid value for '{param}': it holds {ids} token ids; at most {limits.max_token_ids} are "
            "allowed.",
            param=param,
        )


def _completion(data: dict[str, Any], limits: RequestLimits) -> None:
    _sampling(data, limits)
    _inputs(data.get("prompt"), "prompt", limits)


def _embedding(data: dict[str, Any], limits: RequestLimits) -> None:
    _inputs(data.get("input"), "input", limits)


_CHECKS: dict[type[BaseModel], Check] = {
    ChatCompletionRequest: _chat,
    CompletionRequest: _completion,
    EmbeddingRequest: _embedding,
}
