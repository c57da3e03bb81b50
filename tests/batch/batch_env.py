"""What the batch flow tests use: a count of the requests the gateway finished per client request id (read
from the gateway's own access lines), batch request lines and a JSONL reader."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

MODEL = "tiny-chat"
CHAT = "/v1/chat/completions"


class AccessCounter(logging.Handler):
    """Counts the gateway's access lines per client request id (``x-request-id`` as the flow sent it)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.spans: list[tuple[float, float]] = []  # (start, end) of each chat request, in time.time()

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "gateway_fields", None) or {}
        client_id = fields.get("client_request_id")
        if client_id and fields.get("path") == CHAT:
            self.counts[client_id] += 1
            self.spans.append((record.created - fields.get("latency_ms", 0.0) / 1000, record.created))

    def most_at_once(self) -> int:
        """The most chat requests the gateway was serving at one moment."""
        events = sorted([(start, 1) for start, _ in self.spans] + [(end, -1) for _, end in self.spans])
        level = peak = 0
        for _, step in events:  # an end sorts before a start at the same instant
            level += step
            peak = max(peak, level)
        return peak


def chat_request(custom_id: str, max_tokens: int = 8, **body: Any) -> str:
    payload = {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"Tell me about {custom_id}."}],
        "max_tokens": max_tokens,
        "temperature": 0,
        **body,
    }
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT, "body": payload})


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
