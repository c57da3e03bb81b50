"""Server-sent events as the gateway writes and reads them: one frame, the data of one event, the stream's
end marker and the one way an error inside a stream that already started is written (``error_event``)."""

from __future__ import annotations

import orjson

from gateway.errors import GatewayError

DONE = b"data: [DONE]\n\n"


def sse_frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def sse_data(event: bytes) -> bytes | None:
    """The data of one SSE event (several data lines joined by newlines); None for comments-only events."""
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:]
    lines = [line[5:].removeprefix(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


def error_event(error: GatewayError) -> bytes:
    """The SSE event that carries ``error``'s OpenAI-style body, for a failure after the first event."""
    return sse_frame(orjson.dumps(error.body()))
