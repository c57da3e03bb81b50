"""Stream pass-through without a server: model renaming byte for byte, usage metering, error events,
events split across reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.upstreams.base import UpstreamStream
from gateway.upstreams.errors import UpstreamError
from gateway.upstreams.openai_compat import OpenAIStreamDecoder
from tests.fixtures.fake_upstreams import FakeUpstream
from tests.fixtures.router_calls import event_json

pytestmark = pytest.mark.anyio

Factory = Callable[..., FakeUpstream]


# -- stream pass-through (no server needed) ----------------------------------------------------------------


def test_stream_passthrough_renames_the_model_and_leaves_the_rest_byte_for_byte() -> None:
    decoder = OpenAIStreamDecoder("client-name", include_usage=False)
    # The content holds an escaped "model":"x" that must stay untouched.
    compact = (
        b'data: {"id":"c1","model":"/models/tiny","choices":[{"delta":{"content":"\\"model\\":\\"x\\""}}]}'
    )
    first = decoder.decode(compact)
    assert first == compact.replace(b"/models/tiny", b"client-name") + b"\n\n"
    spaced = b'data: {"id": "c1", "model" : "we\\"ird", "choices": [{"finish_reason": "stop"}]}'
    assert event_json(decoder.decode(spaced) or b"")["model"] == "client-name"
    assert decoder.finished and not decoder.done
    assert decoder.decode(b": keep-alive comment") is None
    assert decoder.decode(b"data: [DONE]") is None and decoder.done


def test_stream_passthrough_meters_usage_and_hides_it_unless_asked() -> None:
    usage_only = b'data: {"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}'
    hidden = OpenAIStreamDecoder("client", include_usage=False)
    hidden.decode(b'data: {"id":"c","model":"m","choices":[]}')
    assert hidden.decode(usage_only) is None
    assert hidden.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    shown = OpenAIStreamDecoder("client", include_usage=True)
    shown.decode(b'data: {"id":"c","model":"m","choices":[]}')
    assert event_json(shown.decode(usage_only) or b"")["usage"]["completion_tokens"] == 2  # passed as sent
    # Usage riding on a content chunk (continuous usage stats): the content stays, the usage goes.
    mixed = b'data: {"model":"m","choices":[{"delta":{"content":"x"}}],"usage": {"prompt_tokens":1}}'
    chunk = event_json(hidden.decode(mixed) or b"")
    assert "usage" not in chunk and chunk["choices"][0]["delta"]["content"] == "x"


def test_stream_passthrough_surfaces_error_events_and_garbage() -> None:
    decoder = OpenAIStreamDecoder("client", include_usage=False)
    with pytest.raises(UpstreamError) as garbage:
        decoder.decode(b"data: {not json")
    assert garbage.value.reason == "malformed"
    decoder.decode(b'data: {"model":"m","choices":[]}')
    with pytest.raises(UpstreamError) as error:
        decoder.decode(b'data: {"object":"error","message":"engine died","code":500}')
    assert error.value.reason == "stream_error" and error.value.message == "engine died"
    multi = b'event: message\ndata: {"model":"m",\ndata: "choices":[]}'
    assert event_json(decoder.decode(multi) or b"")["model"] == "client"


class _Content:
    """Stands in for aiohttp's response body reader: hands out the given network reads, then EOF."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = list(reads)

    async def readany(self) -> bytes:
        return self.reads.pop(0) if self.reads else b""


class _Response:
    def __init__(self, reads: list[bytes]) -> None:
        self.content = _Content(reads)
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _upstream_stream(reads: list[bytes]) -> tuple[UpstreamStream, _Response]:
    response = _Response(reads)
    return UpstreamStream(response, OpenAIStreamDecoder("client", include_usage=False)), response  # type: ignore[arg-type]


async def test_stream_events_split_across_reads_and_crlf_are_reassembled() -> None:
    first = b'data: {"model":"m","choices":[{"delta":{"content":"a"}}]}'
    second = b'data: {"model":"m","choices":[{"delta":{},"finish_reason":"stop"}]}'
    wire = first + b"\r\n\r\n" + second + b"\r\n\r\ndata: [DONE]\r\n\r\n"
    n = len(first)  # cut inside an event and between a \r and its \n
    reads = [wire[:20], wire[20 : n + 1], wire[n + 1 : n + 3], wire[n + 3 :]]
    stream, response = _upstream_stream(reads)
    events = [event async for event in stream]
    assert [event_json(e)["choices"][0]["delta"] for e in events] == [{"content": "a"}, {}]
    assert response.closed


async def test_stream_ending_without_done_is_complete_only_after_a_finish_reason() -> None:
    finished = b'data: {"model":"m","choices":[{"delta":{},"finish_reason":"length"}]}\n'  # unterminated
    stream, _ = _upstream_stream([b'data: {"model":"m","choices":[]}\n\n', finished])
    assert len([event async for event in stream]) == 2
    cut, _ = _upstream_stream([b'data: {"model":"m","choices":[{"delta":{"content":"a"}}]}\n\n'])
    with pytest.raises(UpstreamError) as raised:
        _ = [event async for event in cut]
    assert raised.value.reason == "disconnect"
