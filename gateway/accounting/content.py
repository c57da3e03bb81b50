"""Prompts and answers kept for the audit log, for tenants that ask for it (``tenants[T].store_content``).

The record hook sees no body, so the audit policy captures them in its request hooks: the prompt from
the request body (``messages``, ``prompt`` or ``input``) when ``before`` runs (or in ``after`` /
``applies`` when an earlier policy answered first), the answer from the complete answer in ``after``,
or from a stream's events in ``on_chunk`` (the text of each delta, joined). They wait in a
``ContentBuffer`` keyed by request id, bounded (oldest dropped first), until the record hook takes them
and encrypts them with Fernet (``accounting.content_key``): only the token reaches the database or the
spool.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from pydantic import SecretStr

MAX_PENDING = 10_000  # requests whose content waits for its record; beyond it the oldest is dropped
_PROMPT_FIELDS = ("messages", "prompt", "input")
KEY_HINT = (
    "make one with "
    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)


def prompt_of(body: dict[str, Any]) -> Any:
    for name in _PROMPT_FIELDS:
        if name in body:
            return body[name]
    return None


def answer_text(answer: dict[str, Any]) -> Any:
    """The text of each choice of a complete answer (chat or completion); None for embeddings."""
    choices = answer.get("choices")
    if not isinstance(choices, list):
        return None
    texts: list[Any] = []
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        texts.append(message.get("content") if isinstance(message, dict) else choice.get("text"))
    return texts


def delta_text(event: bytes) -> str:
    """The content one SSE event adds to a streamed answer ("" for [DONE], usage and other events)."""
    if not event.startswith(b"data: {"):
        return ""
    try:
        chunk = json.loads(event[6:])
    except ValueError:
        return ""
    parts: list[str] = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


class ContentBuffer:
    """Captured prompts and answers by request id, until the record hook takes them."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._pending: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._limit = limit

    def _entry(self, request_id: str) -> dict[str, Any]:
        entry = self._pending.get(request_id)
        if entry is None:
            entry = self._pending[request_id] = {}
            if len(self._pending) > self._limit:
                self._pending.popitem(last=False)
        return entry

    def prompt(self, request_id: str, body: dict[str, Any]) -> None:
        self._entry(request_id).setdefault("prompt", prompt_of(body))

    def answer(self, request_id: str, answer: Any) -> None:
        self._entry(request_id)["answer"] = answer

    def stream_text(self, request_id: str, text: str) -> None:
        if text:
            entry = self._entry(request_id)
            entry["answer"] = entry.get("answer", "") + text

    def take(self, request_id: str) -> dict[str, Any] | None:
        return self._pending.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._pending)


class ContentCipher:
    """Fernet encryption of captured content; the key comes from ``accounting.content_key``."""

    def __init__(self, key: SecretStr) -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except ValueError as error:
            raise ValueError(f"accounting.content_key is not a Fernet key ({error}): {KEY_HINT}") from None

    def encrypt(self, content: dict[str, Any]) -> str:
        """The Fernet token (ASCII) of ``content`` as JSON."""
        data = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt(self, token: str | bytes) -> dict[str, Any]:
        raw = token.encode("ascii") if isinstance(token, str) else bytes(token)
        content: dict[str, Any] = json.loads(self._fernet.decrypt(raw))
        return content
