"""Per-request facts that travel from the API layer to the router and the upstreams."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

Endpoint = Literal["chat", "completions", "embeddings"]


@dataclass
class RequestContext:
    """Who asked for what, by when. ``deadline`` is on the ``time.monotonic()`` clock."""

    request_id: str
    model: str
    endpoint: Endpoint
    deadline: float
    stream: bool = False
    user: str | None = None
    affinity_key: str | None = None
    started: float = field(default_factory=time.monotonic)
    # Filled in by the router, read by metrics and logs:
    upstream: str | None = None
    worker: str | None = None
    attempts: int = 0
    fallbacks: int = 0
    usage: dict[str, int] | None = None  # prompt_tokens / completion_tokens / total_tokens, once known

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it passed)."""
        return self.deadline - time.monotonic()
