"""The usage record: what one request asked for, what served it, what it cost and how it ended.

The HTTP layer builds exactly one ``UsageRecord`` per request, once its last byte went out
(``gateway.api.exchange.usage_record``), and hands it to every sink of the policy chain: the Prometheus
series and the access log today, a usage ledger later. Token counts come from the upstream's own usage
(the in-process embedding model counts its own), streams included: the router always asks an upstream
for usage, whether or not the client did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

GuardStage = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """One finding of a screening or output policy about one request. It names the kind of data or
    pattern found, never the text itself (the usage ledger, the audit log and the metrics keep it)."""

    stage: GuardStage  # the prompt ("input") or the answer ("output")
    check: str  # "pii", "injection", "content", "schema"
    kind: str  # what was found: "email", "card", "ignore_instructions", a deny-list's "term"...
    action: str  # what was done: "flag", "redact", "block", "mask", "retry"
    count: int = 1

    def label(self) -> str:
        """``stage:check:kind:action``, the form the ledger and the audit log store."""
        return f"{self.stage}:{self.check}:{self.kind}:{self.action}"


def guard_labels(events: tuple[GuardEvent, ...] | list[GuardEvent]) -> str | None:
    """The events as one comma-separated text (a count above one as ``xN``), None for no events."""
    if not events:
        return None
    return ",".join(e.label() if e.count == 1 else f"{e.label()}x{e.count}" for e in events)


@dataclass(slots=True)
class UsageRecord:
    """One finished request. Fields that a request never reached are None (an unknown model has no
    upstream; a 400 has no tokens). Sinks read it and must not change it (it is not frozen only because a
    frozen dataclass costs several microseconds more to build, on every request)."""

    request_id: str
    method: str
    path: str
    status: int  # as the client saw it; 499 when it went away before the end of the answer
    latency_seconds: float  # request arrival to the last byte of the answer
    client_request_id: str | None = None  # the caller's own id, when it sent one (never a key: may repeat)
    endpoint: str | None = None  # "chat", "completions", "embeddings"; None for the operational ones
    model: str | None = None  # the name the client asked for
    model_version: str | None = None  # "NAME/N", the registered version that served it
    tenant: str | None = None  # who asked (``gateway.principal``); None when authentication never ran
    key_prefix: str | None = None
    subject: str | None = None
    price: Price | None = None  # the registered version's price entry; settings prices cover the rest
    cache_hit: bool = False  # answered from the gateway's cache
    cache_level: str | None = None  # "l1" or "l2" for a hit, "miss" for a cacheable miss, None otherwise
    # A hit's tokens: what the cached answer used when it was first computed, and did not use again now.
    saved_prompt_tokens: int | None = None
    saved_completion_tokens: int | None = None
    guard_events: tuple[GuardEvent, ...] = ()  # what screening and output filtering found and did
    response_retries: int = 0  # upstream calls again after an answer failed response_format validation
    served: bool = False  # whether the gateway serves ``model`` (only such names become metric labels)
    served_model: str | None = None  # the name the upstream that answered knows the model by
    upstream: str | None = None  # the upstream that served the last attempt
    worker: str | None = None  # its worker (base URL)
    stream: bool | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None  # prompt tokens the upstream served from its prefix cache
    time_to_first_token: float | None = None  # streams: request arrival to the first content event
    attempts: int = 0  # upstream attempts, retries included
    fallbacks: int = 0  # moves to the next upstream of the model's route
    router_seconds: float | None = None  # the router's own time on the request (its monotonic clock)
    error_type: str | None = None
    error_message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 400 or self.error_type is not None

    def tokens(self) -> dict[str, int] | None:
        """The counts in OpenAI's usage shape, or None when no usage is known."""
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        prompt, completion = self.prompt_tokens or 0, self.completion_tokens or 0
        counts = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if self.cached_tokens is not None:
            counts["cached_tokens"] = self.cached_tokens
        return counts


class Price(Protocol):
    """A price entry (``registry.spec.PriceEntry`` is one): what a request's tokens cost."""

    @property
    def table_version(self) -> str: ...

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float: ...


class UsageSink(Protocol):
    """Where finished requests go. Called once per request, on the event loop: keep it cheap and never
    raise (a sink's failure is logged and the others still run)."""

    def record(self, record: UsageRecord) -> None: ...
