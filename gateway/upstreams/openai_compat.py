"""Any OpenAI-compatible endpoint: vLLM, SGLang, TGI, Ollama, OpenAI itself and Azure OpenAI.

The client's body is forwarded nearly as is: a shallow copy with the upstream's model name, and usage
always requested on streams (the gateway meters tokens). Streaming events pass through as bytes; only the
``model`` field is spliced back to the client-facing name, and an event is parsed only when a cheap byte
search says it may carry usage or an error.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from gateway.context import Endpoint, RequestContext
from gateway.sse import sse_data, sse_frame
from gateway.upstreams.base import normalize_usage
from gateway.upstreams.errors import UpstreamError
from gateway.upstreams.json_body import dumps_request
from gateway.upstreams.provider import Provider
from genai.settings.gateway import UpstreamSettings

_PATHS: dict[str, str] = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
}
_INCLUDE_USAGE = {"include_usage": True}
# A JSON key can only match these outside of strings: inside one every quote is escaped.
_MODEL_FIELD = re.compile(rb'"model"\s*:\s*"(?:[^"\\]|\\.)*"')
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
_FINISHED = re.compile(rb'"finish_reason"\s*:\s*"')


class OpenAICompatProvider(Provider):
    kind = "openai"

    def __init__(self, name: str, settings: UpstreamSettings) -> None:
        super().__init__(name, settings)
        if settings.api_key is not None:
            key = settings.api_key.get_secret_value()
            # Azure OpenAI (recognised by its api-version) takes the key in its own header.
            if settings.api_version:
                self._headers["api-key"] = key
            else:
                self._headers["Authorization"] = f"Bearer {key}"

    def path(self, endpoint: Endpoint) -> str:
        return _PATHS[endpoint]

    def encode(self, ctx: RequestContext, body: dict[str, Any], model: str, stream: bool) -> bytes:
        payload = body.copy()
        payload["model"] = model
        if ctx.endpoint == "embeddings":
            return dumps_request(payload, body)  # no stream field: some servers reject unknown keys here
        payload["stream"] = stream
        if stream:
            options = body.get("stream_options")
            payload["stream_options"] = (
                {**options, "include_usage": True} if isinstance(options, dict) else _INCLUDE_USAGE
            )
        else:
            payload.pop("stream_options", None)
        return dumps_request(payload, body)

    def decode(self, ctx: RequestContext, raw: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise UpstreamError(f"upstream sent malformed JSON: {error}", reason="malformed") from error
        answers = "data" if ctx.endpoint == "embeddings" else "choices"
        if not isinstance(data, dict) or not isinstance(data.get(answers), list):
            if isinstance(data, dict) and "error" in data:
                raise UpstreamError(_error_text(data), reason="stream_error")
            raise UpstreamError(f"upstream answer has no {answers}", reason="malformed")
        data["model"] = ctx.model
        return data

    def stream_decoder(self, ctx: RequestContext, include_usage: bool) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(ctx.model, include_usage)


class OpenAIStreamDecoder:
    """Passes OpenAI chunk events through, renaming the model, metering usage, surfacing error events."""

    __slots__ = ("_checked", "_include_usage", "_last", "_model", "_model_field", "done", "usage")

    def __init__(self, model: str, include_usage: bool) -> None:
        self._model = model
        self._model_field = b'"model":' + orjson.dumps(model)
        self._checked = False
        self._include_usage = include_usage
        self._last = b""
        self.usage: dict[str, int] | None = None
        self.done = False

    @property
    def finished(self) -> bool:
        # Looked for only at an end without [DONE], in the last event, instead of in every event.
        return self.usage is not None or _FINISHED.search(self._last) is not None

    def decode(self, event: bytes) -> bytes | None:
        if event.startswith(b"data: ") and b"\n" not in event:
            data = event[6:]
        else:
            parsed = sse_data(event)
            if parsed is None:  # a comment or keep-alive
                return None
            data = parsed
        if data == b"[DONE]":
            self.done = True
            return None
        if not self._checked:
            # The first event is parsed in full, so a garbage stream fails while it can still be retried.
            self._checked = True
            self._raise_if_error(_load(data))
        elif b'"error"' in data:
            self._raise_if_error(_load(data))
        self._last = data
        # A plain substring test first: most chunks have no usage key at all (OpenAI's say "usage":null).
        if b'"usage"' in data and _USAGE_OBJECT.search(data):
            return self._usage_event(data)
        return self._renamed(data)

    def _renamed(self, data: bytes) -> bytes:
        """The event framed for the client, its ``model`` value replaced by the client-facing name."""
        # Every server seen (vLLM, SGLang, TGI, Ollama, OpenAI) writes compact JSON: find the value with a
        # plain search, and leave spaced JSON and escaped quotes to the regex.
        start = data.find(b'"model":"')
        if start >= 0:
            end = data.find(b'"', start + 9)
            if end > 0 and data[end - 1] != 0x5C:  # no backslash: the closing quote, not an escaped one
                return b"".join((b"data: ", data[:start], self._model_field, data[end + 1 :], b"\n\n"))
        match = _MODEL_FIELD.search(data)
        if match is not None:
            data = data[: match.start()] + self._model_field + data[match.end() :]
        return sse_frame(data)

    def _usage_event(self, data: bytes) -> bytes | None:
        chunk = _load(data)
        self.usage = normalize_usage(chunk.get("usage"))
        if not self._include_usage:
            if not chunk.get("choices"):
                return None  # the usage-only chunk the client did not ask for
            chunk.pop("usage", None)
        chunk["model"] = self._model
        return sse_frame(orjson.dumps(chunk))

    @staticmethod
    def _raise_if_error(chunk: dict[str, Any]) -> None:
        if "error" in chunk or chunk.get("object") == "error":
            raise UpstreamError(_error_text(chunk), reason="stream_error")


def _load(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise UpstreamError(f"upstream sent a malformed event: {error}", reason="malformed") from error
    if not isinstance(chunk, dict):
        raise UpstreamError("upstream sent an event that is not an object", reason="malformed")
    return chunk


def _error_text(data: dict[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or data.get("message") or "upstream reported an error")
