"""The question a chat or text completion asks: what retrieval searches for and what the extractive kind
answers. For a chat, the text of the last user message (its text parts, for a list of parts); for a text
completion, the prompt when it is one string (a list of prompts or token ids has no single question)."""

from __future__ import annotations

from typing import Any


def message_text(content: Any) -> str:
    """A message's text: the string itself, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return ""


def question_of(body: dict[str, Any]) -> str:
    """The request's question, stripped; ``""`` when it has none."""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return message_text(message.get("content")).strip()
        return ""
    prompt = body.get("prompt")
    return prompt.strip() if isinstance(prompt, str) else ""
