"""The request-policy chain: the one place every OpenAI endpoint's request passes through.

A ``Policy`` may act at five points of a request, each an optional method:

* ``before(call)``: before the upstream is asked. Raise a ``GatewayError`` to end the request with that
  OpenAI-style error and status (authentication, rate limits, budgets, input screening), change
  ``call.body`` (context enhancement), or return an answer to skip the upstream altogether (a cache hit):
  a dict for a plain call, an async iterator of SSE events for a streamed one. Later policies' ``before``
  and the upstream are then skipped, and only the policies listed after the one that answered run their
  ``after`` and stream hooks on it: a stored answer already went through the earlier ones' hooks when it
  was first made (its citations added, its format validated), so a replay must not pass them again.
* ``after(call, answer)``: a complete (non-streamed) answer, in OpenAI's format; returns the answer to
  send, changed or not (output filtering, caching the answer).
* ``on_chunk(call, event)``: each streamed SSE event as it goes to the client (``data: {...}\\n\\n``,
  the final ``data: [DONE]\\n\\n`` included); returns the bytes to send instead (``b""`` drops it).
* ``on_stream_end(call)``: once the stream ended, normally, by an error or because the client left (what
  was sent is what the ``on_chunk`` hooks saw; an event to add at the end is written by ``on_chunk`` on
  the ``[DONE]`` event).
* ``record(record)``: the request's ``UsageRecord`` once its answer went out (metrics, access log,
  ledger): the policy is then also a ``UsageSink``.

One more hook runs earlier, outside the chain's per-call path: ``authenticate(headers, path)``, called by
the middleware for every HTTP request before its body is read, with the raw ASGI headers. It returns the
caller's ``Principal``, None when it has nothing to say about ``path`` (a health probe), or raises a
``GatewayError`` (401) that ends the request there. The first principal a policy returns is the request's;
with no policy saying one, the request is ``ANONYMOUS``.

A policy with stream hooks that concern only some requests says which in ``applies(call)`` (asked once
per stream, after the ``before`` hooks ran): a stream no hook applies to is handed on untouched. ``close()``
releases what a policy holds (the app's shutdown awaits it).

``PolicyChain`` runs the policies in the order the settings list them (``gateway.policies``). It works
out once, when built, which policies implement which hook, so a request pays only for the hooks in use:
with no ``on_chunk`` or ``on_stream_end`` policy a stream is handed on untouched, without an extra
generator around it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from gateway.context import Endpoint, RequestContext
from gateway.policies.usage import UsageRecord
from gateway.principal import ANONYMOUS, Principal

if TYPE_CHECKING:
    from genai.settings import Settings

logger = logging.getLogger(__name__)

Answer = dict[str, Any] | AsyncIterator[bytes]
Upstream = Callable[["Call"], Awaitable[Answer]]


@dataclass(slots=True)
class Call:
    """One request as the policies see it: what was asked, and a place for a policy's own notes."""

    ctx: RequestContext
    body: dict[str, Any]  # the client's OpenAI-format body, as the upstream will receive it
    notes: dict[str, Any] = field(default_factory=dict)  # per-request state a policy keeps between hooks
    # Headers a policy adds to the answer (rate-limit counters, cache status), JSON and streams alike:
    response_headers: dict[str, str] | None = None
    # What answers the call when no ``before`` hook does, set by ``PolicyChain.run``: an ``after`` hook may
    # ask it again (``response_format`` retries an answer that failed validation).
    upstream: Upstream | None = None
    # The policy whose ``before`` answered (a cache hit); None when the upstream did:
    answered_by: Policy | None = None

    def add_headers(self, headers: dict[str, str]) -> None:
        if self.response_headers is None:
            self.response_headers = dict(headers)
        else:
            self.response_headers.update(headers)

    @property
    def request_id(self) -> str:
        return self.ctx.request_id

    @property
    def endpoint(self) -> Endpoint:
        return self.ctx.endpoint

    @property
    def model(self) -> str:
        return self.ctx.model

    @property
    def stream(self) -> bool:
        return self.ctx.stream


class Policy:
    """One step of the request path. Subclasses implement only the hooks they need (see the module
    docstring); ``name`` is how ``gateway.policies`` in the settings refers to the policy."""

    name: ClassVar[str] = ""

    @classmethod
    def from_settings(cls, settings: Settings | None) -> Policy:
        """The policy for the platform's ``settings`` (None: the process settings or the defaults);
        a policy with settings of its own overrides this."""
        return cls()

    async def authenticate(self, headers: Sequence[tuple[bytes, bytes]], path: str) -> Principal | None:
        """Who sends a request with ``headers`` to ``path``; None: this policy does not say."""
        return None

    async def before(self, call: Call) -> Answer | None:
        return None

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        return answer

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        return event

    def on_stream_end(self, call: Call) -> None:
        return None

    def record(self, record: UsageRecord) -> None:
        return None

    def applies(self, call: Call) -> bool:
        """Whether this policy's ``on_chunk`` / ``on_stream_end`` hooks concern ``call``'s stream."""
        return True

    async def close(self) -> None:
        return None


def _implements(policy: Policy, hook: str) -> bool:
    return getattr(type(policy), hook) is not getattr(Policy, hook)


class PolicyChain:
    """The configured policies, in order, with the hooks each implements resolved once."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = tuple(policies)
        self._authenticate = tuple(p for p in self.policies if _implements(p, "authenticate"))
        self._before = tuple(p for p in self.policies if _implements(p, "before"))
        self._after = tuple(p for p in self.policies if _implements(p, "after"))
        self._chunk = tuple(p for p in self.policies if _implements(p, "on_chunk"))
        self._end = tuple(p for p in self.policies if _implements(p, "on_stream_end"))
        self._sinks = tuple(p for p in self.policies if _implements(p, "record"))
        self._position = {id(policy): index for index, policy in enumerate(self.policies)}

    def _after_answerer(self, call: Call, hooks: tuple[Policy, ...]) -> tuple[Policy, ...]:
        """``hooks`` that concern ``call``'s answer: all of them, or, for an answer a policy's ``before``
        gave, those of the policies listed after that one."""
        if call.answered_by is None:
            return hooks
        first = self._position[id(call.answered_by)]
        return tuple(policy for policy in hooks if self._position[id(policy)] > first)

    @property
    def names(self) -> list[str]:
        return [policy.name for policy in self.policies]

    @property
    def authenticates(self) -> bool:
        """Whether some policy has an ``authenticate`` hook (else every request is ``ANONYMOUS``)."""
        return bool(self._authenticate)

    async def authenticate(self, headers: Sequence[tuple[bytes, bytes]], path: str) -> Principal:
        """The request's principal: the first one an ``authenticate`` hook returns, else ``ANONYMOUS``;
        a hook's ``GatewayError`` (401) propagates to the middleware, which answers it."""
        for policy in self._authenticate:
            principal = await policy.authenticate(headers, path)
            if principal is not None:
                return principal
        return ANONYMOUS

    async def run(self, call: Call, upstream: Upstream) -> Answer:
        """The answer to ``call``: from a ``before`` hook, else from ``upstream(call)``; a complete answer
        then goes through every ``after`` hook. A streamed answer comes back as the upstream's events:
        hand it to ``events`` for the per-chunk hooks."""
        answer: Answer | None = None
        call.upstream = upstream
        for policy in self._before:
            answer = await policy.before(call)
            if answer is not None:
                call.answered_by = policy
                break
        if answer is None:
            answer = await upstream(call)
        if isinstance(answer, dict):
            for policy in self._after_answerer(call, self._after):
                answer = await policy.after(call, answer)
        return answer

    def events(self, call: Call, events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``events`` as the client gets them: through the ``on_chunk`` and ``on_stream_end`` hooks, or
        untouched when no policy has one."""
        chunk_hooks = tuple(p for p in self._after_answerer(call, self._chunk) if p.applies(call))
        end_hooks = tuple(p for p in self._after_answerer(call, self._end) if p.applies(call))
        if not chunk_hooks and not end_hooks:
            return events
        return self._through_hooks(call, events, chunk_hooks, end_hooks)

    async def _through_hooks(
        self,
        call: Call,
        events: AsyncIterator[bytes],
        chunk_hooks: tuple[Policy, ...],
        end_hooks: tuple[Policy, ...],
    ) -> AsyncIterator[bytes]:
        try:
            async for event in events:
                for policy in chunk_hooks:
                    event = policy.on_chunk(call, event)
                if event:
                    yield event
        finally:
            # Closing the source at once (the client left, or a hook raised) gives the upstream back.
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
            for policy in end_hooks:
                policy.on_stream_end(call)

    async def close(self) -> None:
        """Let every policy release what it holds; one's failure is logged and the others still close."""
        for policy in self.policies:
            try:
                await policy.close()
            except Exception:
                logger.exception("closing policy %r failed", policy.name)

    def record(self, record: UsageRecord) -> None:
        """Hand ``record`` to every sink; one sink's failure is logged and never reaches the client."""
        for sink in self._sinks:
            try:
                sink.record(record)
            except Exception:
                logger.exception("usage sink %r failed on request %s", sink.name, record.request_id)
