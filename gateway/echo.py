"""Values a client sent, cut short before they are echoed into an error message or a log line.

A client controls model names, paths and the keys of its body: echoed whole, a multi-megabyte name would
be copied into the answer and into every log line that mentions it.
"""

from __future__ import annotations

ECHO_CHARS = 100


def clip(value: object, limit: int = ECHO_CHARS) -> str:
    """``value`` as text, at most ``limit`` characters and an ellipsis."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"
