"""What the cache keeps for one answer: a JSON body, the SSE events of a stream, or one input's embedding,
with the usage the upstream reported when it made it.

An entry is kept in the L1 as this object and sent to Redis as bytes (``encode``): one JSON header line
(kind, usage, part lengths) and the parts themselves, so neither the JSON body nor the events are parsed
or re-serialised on the way in or out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import orjson

Kind = Literal["json", "stream", "embedding"]
FORMAT = 1  # bumped when the layout changes: an entry of another format reads as a miss


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored answer. ``parts``: the JSON body (``json``), every SSE event as sent, ``[DONE]``
    included (``stream``), or one embedding's JSON value (``embedding``)."""

    kind: Kind
    parts: tuple[bytes, ...]
    usage: dict[str, int] | None = None

    @property
    def size(self) -> int:
        """Bytes the entry holds (what the L1's bound counts)."""
        return sum(len(part) for part in self.parts) + 64

    def encode(self) -> bytes:
        header = {"f": FORMAT, "k": self.kind, "u": self.usage, "n": [len(part) for part in self.parts]}
        return b"".join((orjson.dumps(header), b"\n", *self.parts))

    @classmethod
    def decode(cls, data: bytes) -> Entry | None:
        """The entry ``encode`` wrote; None for bytes of another format or damaged ones."""
        newline = data.find(b"\n")
        if newline < 0:
            return None
        try:
            header = orjson.loads(data[:newline])
            if header.get("f") != FORMAT:
                return None
            parts: list[bytes] = []
            offset = newline + 1
            for length in header["n"]:
                parts.append(data[offset : offset + length])
                offset += length
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return None
        if offset != len(data):
            return None
        return cls(header["k"], tuple(parts), header["u"])
