"""The audit log's hash chain: which fields of an entry are hashed, and how.

``entry_hash = sha256(prev_hash + canonical(entry))`` where ``canonical`` is the JSON of the entry's
fields (seq, at, request_id, actor, tenant, route, model, decision, status, reason, content, and
``guards`` when an entry has guard events: entries written before the column existed hash as they did)
with sorted keys and no spaces; ``at`` as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ``content`` (the Fernet
token) as its ASCII text. The first entry's ``prev_hash`` is ``GENESIS``. The gateway computes it when it
writes an entry and ``genai audit verify`` recomputes it, so both import this one definition.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "request_id",
    "actor",
    "tenant",
    "route",
    "model",
    "decision",
    "status",
    "reason",
    "content",
)
OPTIONAL_HASHED_FIELDS = ("guards",)  # hashed only when not None


def canonical_time(at: datetime) -> str:
    """``at`` in UTC with microseconds: the form both databases give back unchanged."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: dict[str, Any]) -> str:
    """The hashed text of an entry's ``fields`` (a mapping with at least ``HASHED_FIELDS``)."""
    values: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = fields.get(name)
        if name == "at" and isinstance(value, datetime):
            value = canonical_time(value)
        elif isinstance(value, bytes | bytearray | memoryview):
            value = bytes(value).decode("ascii", errors="backslashreplace")
        values[name] = value
    for name in OPTIONAL_HASHED_FIELDS:
        if fields.get(name) is not None:
            values[name] = fields[name]
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash an entry with ``fields`` carries when it follows an entry whose hash is ``prev_hash``."""
    return hashlib.sha256((prev_hash + canonical(fields)).encode("ascii")).hexdigest()
