"""Where a request body carries text a model will read, as slots a policy can read and rewrite in place:
each message's ``content`` (a string, or each text part of a list of parts, the other parts untouched),
a text completion's ``prompt`` (a string or a list of strings), an embedding request's ``input`` (the
same). Token-id prompts and inputs carry no text; tool-call arguments and names are not read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class TextSlot:
    """``container[key]`` is a string of the body; ``role`` is its message's role ("" outside a chat)."""

    container: Any  # the dict or list holding the text
    key: Any  # its key or index there
    role: str = ""

    @property
    def text(self) -> str:
        value: str = self.container[self.key]
        return value

    def replace(self, text: str) -> None:
        self.container[self.key] = text


def _message_slots(messages: list[Any]) -> list[TextSlot]:
    slots = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role") or "")
        content = message.get("content")
        if isinstance(content, str):
            slots.append(TextSlot(message, "content", role))
        elif isinstance(content, list):
            for part in content:
                is_text = isinstance(part, dict) and part.get("type", "text") == "text"
                if is_text and isinstance(part.get("text"), str):
                    slots.append(TextSlot(part, "text", role))
    return slots


def _strings(body: dict[str, Any], field: str) -> list[TextSlot]:
    value = body.get(field)
    if isinstance(value, str):
        return [TextSlot(body, field)]
    if isinstance(value, list):
        return [TextSlot(value, i) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def text_slots(body: dict[str, Any]) -> tuple[str, list[TextSlot]]:
    """The body's field that holds its text ("messages", "prompt" or "input") and the slots in it."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return "messages", _message_slots(messages)
    if "prompt" in body:
        return "prompt", _strings(body, "prompt")
    return "input", _strings(body, "input")
