"""Anthropic's Messages API behind the OpenAI interface, translated both ways, streaming included.

Requests: system/developer messages become ``system``; tool results become ``tool_result`` blocks in a user
turn; assistant tool calls become ``tool_use`` blocks; consecutive turns of one role merge (the Messages
API wants them alternating); ``max_tokens`` is mandatory there, ``stop`` becomes ``stop_sequences`` and the
temperature is clamped to Anthropic's 0..1. Answers become chat completions (or text completions for the
legacy endpoint) with OpenAI's finish reasons and usage; stream events become OpenAI chunks.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.context import Endpoint, RequestContext
from gateway.errors import InvalidRequest
from gateway.sse import sse_data, sse_frame
from gateway.upstreams.base import now_seconds
from gateway.upstreams.errors import UpstreamError
from gateway.upstreams.json_body import dumps_request
from gateway.upstreams.provider import Provider
from genai.settings.gateway import UpstreamSettings

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # the Messages API has no default; OpenAI's is "as many as fit"
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TOOL_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


class AnthropicProvider(Provider):
    kind = "anthropic"

    def __init__(self, name: str, settings: UpstreamSettings) -> None:
        super().__init__(name, settings)
        self._headers["anthropic-version"] = ANTHROPIC_VERSION
        if settings.api_key is not None:
            self._headers["x-api-key"] = settings.api_key.get_secret_value()

    def supports(self, endpoint: Endpoint) -> bool:
        return endpoint != "embeddings"  # Anthropic's API has no embeddings

    def path(self, endpoint: Endpoint) -> str:
        return "/v1/messages"

    def encode(self, ctx: RequestContext, body: dict[str, Any], model: str, stream: bool) -> bytes:
        return dumps_request(to_messages_request(body, model, stream, ctx.endpoint), body)

    def decode(self, ctx: RequestContext, raw: bytes) -> dict[str, Any]:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise UpstreamError(f"upstream sent malformed JSON: {error}", reason="malformed") from error
        if not isinstance(message, dict) or message.get("type") != "message":
            raise UpstreamError("upstream answer is not a message", reason="malformed")
        return to_openai_response(message, ctx.model, ctx.endpoint)

    def stream_decoder(self, ctx: RequestContext, include_usage: bool) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(ctx.model, include_usage, ctx.endpoint)


# -- requests ------------------------------------------------------------------------------------------


def to_messages_request(body: dict[str, Any], model: str, stream: bool, endpoint: Endpoint) -> dict[str, Any]:
    """An OpenAI chat (or legacy completions) body as a Messages API body."""
    if (body.get("n") or 1) > 1:
        raise InvalidRequest("this model returns one choice per request", param="n")
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    if endpoint == "completions":
        prompt = body.get("prompt")
        _append(messages, "user", _blocks("".join(prompt) if isinstance(prompt, list) else prompt))
    for message in body.get("messages") or ():
        _translate_message(message, system, messages)
    out: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS,
    }
    if system:
        out["system"] = "\n\n".join(system)
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("temperature") is not None:
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    if body.get("tools"):
        out["tools"] = [_tool(tool) for tool in body["tools"]]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}
    if stream:
        out["stream"] = True
    return out


def _translate_message(message: dict[str, Any], system: list[str], messages: list[dict[str, Any]]) -> None:
    role = message.get("role")
    content = message.get("content")
    if role in ("system", "developer"):
        system.append(_text(content))
    elif role == "tool":
        result = {"type": "tool_result", "tool_use_id": message.get("tool_call_id")}
        _append(messages, "user", [{**result, "content": _text(content)}])
    elif role == "assistant":
        blocks = _blocks(content)
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "input": _arguments(function.get("arguments")),
                }
            )
        _append(messages, "assistant", blocks)
    else:
        _append(messages, "user", _blocks(content))


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI message content (a string or a list of parts) as Messages content blocks."""
    if content is None or content == "":
        return []
    if not isinstance(content, list):
        return [{"type": "text", "text": str(content)}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            blocks.append(_image(part.get("image_url")))
    return blocks


def _image(image: Any) -> dict[str, Any]:
    url = image.get("url", "") if isinstance(image, dict) else str(image or "")
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _arguments(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments) if arguments else {}
        except orjson.JSONDecodeError as error:
            raise InvalidRequest("tool call arguments are not JSON", param="messages") from error
    return arguments or {}


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    out = {"name": function.get("name"), "input_schema": function.get("parameters") or {"type": "object"}}
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if isinstance(choice, dict):
        out: dict[str, Any] = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    elif isinstance(choice, str) and choice in _TOOL_CHOICE:
        out = dict(_TOOL_CHOICE[choice])
    elif parallel is False:
        out = {"type": "auto"}
    else:
        return None
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


# -- answers -------------------------------------------------------------------------------------------


def usage_of(usage: Any) -> dict[str, int]:
    """Anthropic usage as OpenAI's; cached prompt tokens still count as prompt tokens."""
    usage = usage if isinstance(usage, dict) else {}
    prompt = sum(
        int(usage.get(key) or 0)
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    completion = int(usage.get("output_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def to_openai_response(message: dict[str, Any], model: str, endpoint: Endpoint) -> dict[str, Any]:
    text: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            arguments = orjson.dumps(block.get("input")).decode()
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                }
            )
    finish = FINISH_REASONS.get(message.get("stop_reason") or "end_turn", "stop")
    base = {
        "id": message.get("id"),
        "created": now_seconds(),
        "model": model,
        "usage": usage_of(message.get("usage")),
    }
    if endpoint == "completions":
        choice = {"index": 0, "text": "".join(text), "logprobs": None, "finish_reason": finish}
        return {**base, "object": "text_completion", "choices": [choice]}
    content = "".join(text) if text or not tool_calls else None
    reply: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    choice = {"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}
    return {**base, "object": "chat.completion", "choices": [choice]}


class AnthropicStreamDecoder:
    """Translates Messages stream events into OpenAI chunk events, one upstream event at a time."""

    __slots__ = (
        "_chat",
        "_created",
        "_id",
        "_include_usage",
        "_model",
        "_tools",
        "done",
        "finished",
        "usage",
    )

    def __init__(self, model: str, include_usage: bool, endpoint: Endpoint) -> None:
        self._model = model
        self._include_usage = include_usage
        self._chat = endpoint == "chat"
        self._id = ""
        self._created = now_seconds()
        self._tools: dict[int, int] = {}  # content block index -> OpenAI tool call index
        self.usage: dict[str, int] | None = None
        self.done = False
        self.finished = False

    def decode(self, event: bytes) -> bytes | None:
        data = sse_data(event)
        if data is None:
            return None
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise UpstreamError(f"upstream sent a malformed event: {error}", reason="malformed") from error
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "message_start":
            return self._start(payload.get("message") or {})
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "message_delta":
            return self._message_delta(payload)
        if kind == "message_stop":
            self.done = True
            return self._usage_chunk()
        if kind == "error":
            detail = payload.get("error") or {}
            raise UpstreamError(str(detail.get("message") or detail), reason="stream_error")
        return None  # ping, content_block_stop, and event types newer than this code

    def _start(self, message: dict[str, Any]) -> bytes:
        self._id = str(message.get("id") or "")
        self.usage = usage_of(message.get("usage"))
        return self._chunk({"role": "assistant", "content": ""})

    def _block_start(self, payload: dict[str, Any]) -> bytes | None:
        block = payload.get("content_block") or {}
        if block.get("type") != "tool_use" or not self._chat:
            return None
        index = self._tools.setdefault(int(payload.get("index", 0)), len(self._tools))
        call = {
            "index": index,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        return self._chunk({"tool_calls": [call]})

    def _delta(self, payload: dict[str, Any]) -> bytes | None:
        delta = payload.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return self._chunk({"content": delta.get("text", "")})
        if kind == "input_json_delta" and self._chat:
            index = self._tools.get(int(payload.get("index", 0)), 0)
            call = {"index": index, "function": {"arguments": delta.get("partial_json", "")}}
            return self._chunk({"tool_calls": [call]})
        return None  # thinking and signature deltas have no OpenAI counterpart

    def _message_delta(self, payload: dict[str, Any]) -> bytes:
        reason = (payload.get("delta") or {}).get("stop_reason") or "end_turn"
        output = (payload.get("usage") or {}).get("output_tokens")
        if output is not None:
            usage = self.usage or usage_of(None)
            usage["completion_tokens"] = int(output)
            usage["total_tokens"] = usage["prompt_tokens"] + int(output)
            self.usage = usage
        self.finished = True
        return self._chunk({}, FINISH_REASONS.get(reason, "stop"))

    def _usage_chunk(self) -> bytes | None:
        if not self._include_usage or self.usage is None:
            return None
        return sse_frame(
            orjson.dumps(
                {
                    "id": self._id,
                    "object": self._object(),
                    "created": self._created,
                    "model": self._model,
                    "choices": [],
                    "usage": self.usage,
                }
            )
        )

    def _object(self) -> str:
        return "chat.completion.chunk" if self._chat else "text_completion"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        if self._chat:
            choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": delta.get("content", ""), "logprobs": None, "finish_reason": finish}
        return sse_frame(
            orjson.dumps(
                {
                    "id": self._id,
                    "object": self._object(),
                    "created": self._created,
                    "model": self._model,
                    "choices": [choice],
                }
            )
        )
