"""A fast OpenAI-compatible mock upstream for the gateway benchmark.

It answers ``POST /v1/chat/completions`` (and ``/v1/completions``) with a canned completion that carries
usage, and with ``"stream": true`` sends a role chunk, ``--chunks`` content chunks, a finish chunk, a usage
chunk when ``stream_options.include_usage`` asks for it, then ``data: [DONE]``. ``GET /health`` and
``GET /v1/models`` answer too, so gateways can probe it.

It is a raw ``asyncio.Protocol`` HTTP/1.1 server with keep-alive and pre-built answers: the point is that
the mock costs as little CPU per request as possible, so what the benchmark measures is the proxy in front
of it, not the mock. It understands only what benchmark clients send (Content-Length bodies, no
pipelining of a request behind an unfinished stream).

    taskset -c 1 python benchmarks/gateway/mock_upstream.py --port 9100 --chunks 16 --chunk-interval-ms 1
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

import orjson
from serve_forever import serve_until_signalled

MODEL = "bench-upstream"
CREATED = 1_700_000_000
COMPLETION_ID = "chatcmpl-bench0000000000000000000"
WORDS = ("Lorem", " ipsum", " dolor", " sit", " amet", ",", " consectetur", " adipiscing", " elit", ".")
PROMPT_TOKENS = 12


@dataclass(frozen=True)
class Answers:
    """Every response the mock sends, built once: a request only picks one and writes it."""

    completion: bytes
    stream_head: bytes
    stream_chunks: tuple[bytes, ...]  # role, contents, finish: one HTTP chunk each
    stream_tail: bytes  # [DONE] and the terminating zero-length chunk
    usage_chunk: bytes
    health: bytes
    models: bytes
    not_found: bytes


def _response(status: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    head = (
        b"HTTP/1.1 "
        + status.encode()
        + b"\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    return head + body


def _http_chunk(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def _sse(event: dict[str, object]) -> bytes:
    return _http_chunk(b"data: " + orjson.dumps(event) + b"\n\n")


def _chunk_event(delta: dict[str, str], finish: str | None) -> dict[str, object]:
    return {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def build_answers(chunks: int) -> Answers:
    """The canned answers for streams of ``chunks`` content chunks (the plain completion has as many
    tokens)."""
    words = [WORDS[i % len(WORDS)] for i in range(chunks)]
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": chunks,
        "total_tokens": PROMPT_TOKENS + chunks,
    }
    completion = {
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(words)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage,
    }
    stream_chunks = (
        _sse(_chunk_event({"role": "assistant", "content": ""}, None)),
        *(_sse(_chunk_event({"content": word}, None)) for word in words),
        _sse(_chunk_event({}, "stop")),
    )
    usage_event = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [],
        "usage": usage,
    }
    models = {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": CREATED, "owned_by": "bench"}],
    }
    return Answers(
        completion=_response("200 OK", orjson.dumps(completion)),
        stream_head=b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        stream_chunks=stream_chunks,
        stream_tail=_http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n",
        usage_chunk=_sse(usage_event),
        health=_response("200 OK", b'{"status":"ok"}'),
        models=_response("200 OK", orjson.dumps(models)),
        not_found=_response("404 Not Found", b'{"error":{"message":"not found","type":"not_found"}}'),
    )


class MockProtocol(asyncio.Protocol):
    """One client connection: parses requests off the buffer and answers each at once."""

    def __init__(self, answers: Answers, interval: float) -> None:
        self.answers = answers
        self.interval = interval
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            length = _content_length(head)
            if len(buffer) < end + 4 + length:
                return
            body = bytes(buffer[end + 4 : end + 4 + length])
            del buffer[: end + 4 + length]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        answers = self.answers
        if head.startswith(b"post /v1/chat/completions") or head.startswith(b"post /v1/completions"):
            if b'"stream":true' in body or b'"stream": true' in body:
                self._stream(transport, b'"include_usage":true' in body or b'"include_usage": true' in body)
            else:
                transport.write(answers.completion)
        elif head.startswith(b"get /health"):
            transport.write(answers.health)
        elif head.startswith(b"get /v1/models"):
            transport.write(answers.models)
        else:
            transport.write(answers.not_found)

    def _stream(self, transport: asyncio.Transport, usage: bool) -> None:
        answers = self.answers
        tail = (answers.usage_chunk if usage else b"") + answers.stream_tail
        if self.interval <= 0:
            transport.write(answers.stream_head + b"".join(answers.stream_chunks) + tail)
            return
        # The first token goes out with the headers; the rest are paced like a model decoding them.
        transport.write(answers.stream_head + answers.stream_chunks[0])
        rest = [*answers.stream_chunks[1:-1], answers.stream_chunks[-1] + tail]
        loop = asyncio.get_running_loop()
        for step, piece in enumerate(rest, start=1):
            loop.call_later(step * self.interval, _write_if_open, transport, piece)


def _write_if_open(transport: asyncio.Transport, data: bytes) -> None:
    if not transport.is_closing():
        transport.write(data)


def _content_length(head: bytes) -> int:
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    end = head.find(b"\r\n", start)
    return int(head[start : end if end >= 0 else len(head)].strip())


async def serve(host: str, port: int, chunks: int, interval_ms: float) -> None:
    """Serve until SIGINT or SIGTERM."""
    answers = build_answers(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: MockProtocol(answers, interval_ms / 1000.0), host, port, backlog=4096, reuse_address=True
    )
    await serve_until_signalled(server, f"mock upstream listening on http://{host}:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--chunks", type=int, default=16, help="content chunks per stream (and tokens)")
    parser.add_argument(
        "--chunk-interval-ms",
        type=float,
        default=1.0,
        help="pause between stream chunks after the first; 0 sends the stream at once",
    )
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.chunks, args.chunk_interval_ms))


if __name__ == "__main__":
    main()
