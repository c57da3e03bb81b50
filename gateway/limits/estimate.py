"""How many tokens a request is likely to use, before it is sent: what the token limits and budgets
reserve (the record hook settles them with the upstream's own count afterwards).

The prompt is sized from its bytes at 4 per token (about what BPE tokenizers average on English), with
the JSON of chat messages and tools counted whole, so roles, tool definitions and structure weigh in too;
token-id prompts count their ids. The completion is what the request may ask for: ``n`` times
``max_completion_tokens`` / ``max_tokens``, or ``DEFAULT_ESTIMATE_COMPLETION_TOKENS`` each when it sets
none; embeddings have none.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.accounting.pricing import DEFAULT_ESTIMATE_COMPLETION_TOKENS

BYTES_PER_TOKEN = 4


def _text_tokens(text: str) -> int:
    return -(-len(text.encode()) // BYTES_PER_TOKEN)


def _prompt_like(value: Any) -> int:
    """A completion's ``prompt`` or an embedding's ``input``: text, texts, token ids, or lists of ids."""
    if isinstance(value, str):
        return _text_tokens(value)
    if isinstance(value, list):
        return sum(1 if isinstance(item, int) else _prompt_like(item) for item in value)
    return 0


def prompt_tokens(endpoint: str, body: dict[str, Any]) -> int:
    """The request's prompt tokens, estimated (at least 1)."""
    if endpoint == "chat":
        size = len(orjson.dumps(body.get("messages") or []))
        if body.get("tools"):
            size += len(orjson.dumps(body["tools"]))
        return max(1, -(-size // BYTES_PER_TOKEN))
    field = "input" if endpoint == "embeddings" else "prompt"
    return max(1, _prompt_like(body.get(field)))


def completion_tokens(endpoint: str, body: dict[str, Any]) -> tuple[int, bool]:
    """The completion tokens the request may use, and whether it said so itself (``max_tokens``)."""
    if endpoint == "embeddings":
        return 0, True
    asked = body.get("max_completion_tokens") or body.get("max_tokens")
    choices = body.get("n") or 1
    choices = choices if isinstance(choices, int) and choices > 0 else 1
    if isinstance(asked, int) and asked >= 0:
        return asked * choices, True
    return DEFAULT_ESTIMATE_COMPLETION_TOKENS * choices, False
