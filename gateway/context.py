"""Per-request facts that travel from the API layer to the router and the upstreams."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gateway.policies.usage import GuardEvent
    from gateway.principal import Principal
    from genai.ingest.records import ScoredChunk
    from registry.snapshot import VersionEntry

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
    principal: Principal | None = None  # who asked (the authentication policy's finding)
    client_request_id: str | None = None  # the caller's own id, passed on to the upstream for tracing
    headers: Mapping[str, str] | None = None  # the request's HTTP headers (a policy's opt-in switches)
    # Set when the router pins the request's model (``ModelRouter.pin``), before the policy chain runs:
    version: VersionEntry | None = None  # the registered version serving it; None for a settings route
    model_version: str | None = None  # "NAME/N" of that version (header, usage record, logs)
    context_window: int | None = None  # the model's, when known (the context policy fits its chunks in it)
    # The chunks the context policy put into the prompt, best first (the extractive kind answers from them):
    retrieved: Sequence[ScoredChunk] | None = None
    # Filled in by the policies, read by the usage record (gateway.api.exchange):
    cache_level: str | None = None  # "l1" / "l2" (a hit) or "miss"; None: the request was not cacheable
    saved_usage: dict[str, int] | None = None  # a hit's original usage (tokens not spent again)
    guard_events: list[GuardEvent] = field(default_factory=list)
    response_retries: int = 0
    # Filled in by the router, read by metrics and logs:
    upstream: str | None = None
    worker: str | None = None
    served_model: str | None = None  # the model name the serving upstream knows
    attempts: int = 0
    fallbacks: int = 0
    # prompt_tokens / completion_tokens / total_tokens (and cached_tokens when reported), once known:
    usage: dict[str, int] | None = None
    # When the router began and stopped working on the request (the end of a stream included), on the
    # ``time.monotonic()`` clock: how long the router itself held the request, whatever the caller waited.
    router_started: float | None = None
    router_stopped: float | None = None

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it passed)."""
        return self.deadline - time.monotonic()

    @property
    def router_seconds(self) -> float | None:
        """The router's own time on the request; None until it stopped."""
        if self.router_started is None or self.router_stopped is None:
            return None
        return self.router_stopped - self.router_started
