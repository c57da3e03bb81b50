"""The ``cache`` policy: a deterministic request asked again gets the stored answer, from the in-process
L1 or the Redis L2, without asking a model (docs/cache.md).

``before`` computes the request's key (``gateway.cache.key``: the normalised body, the model version,
the tenant), looks in the L1, then in the L2 (a hit there fills the L1), and answers a hit: a JSON body,
or a stream replayed event by event exactly as first sent. A stream is served from a stored stream only
and a plain answer from a stored plain answer only (a stream rebuilt from a JSON body would differ from
what the model streamed). ``after`` stores a complete answer; a stream's events are collected by
``on_chunk`` and stored by ``on_stream_end`` only when the stream reached ``[DONE]`` with no error event
on the way (a client that left, or an upstream that failed, leaves nothing behind). Embeddings are
cached per input (``gateway.cache.embeddings``).

Only deterministic requests are cached: temperature 0, a seed, or the opt-in header. Every cacheable
request gets ``x-genai-cache: hit`` or ``miss``; others get no header and ``ctx.cache_level`` stays None.
On a hit ``ctx.usage`` stays None (nothing was spent) and ``ctx.saved_usage`` is the stored usage; the
body the client gets carries that original usage, as OpenAI clients expect one.

In the chain the cache sits after screening, context and response_format (the key covers the prompt
actually sent; only a validated answer is stored) and before output_filter (which runs on a replay too).
Settings: ``cache``, ``redis_url``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from gateway.cache import key as keys
from gateway.cache.embeddings import Lookup, completed, inputs_of, stored_answer
from gateway.cache.entry import Entry
from gateway.cache.memory import MemoryStore
from gateway.policies.base import Answer, Call, Policy
from gateway.sse import DONE

if TYPE_CHECKING:
    from gateway.cache.redis_store import RedisStore
    from genai.settings import Settings
    from genai.settings.cache import CacheSettings

HEADER = "x-genai-cache"
INPUTS_HEADER = "x-genai-cache-inputs"  # embeddings: "stored/all" inputs
_KEY, _EVENTS, _LOOKUP = "cache.key", "cache.events", "cache.lookup"
_ERROR_EVENT = re.compile(rb'^data: ?\{\s*"error"')


class _Collected:
    """A stream's events as they went to the client, while they fit the entry bound."""

    __slots__ = ("events", "failed", "size")

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.size = 0
        self.failed = False  # an error event, or more than the bound: nothing to store


class CachePolicy(Policy):
    """The two-level response cache (docs/cache.md)."""

    name: ClassVar[str] = "cache"

    def __init__(
        self,
        settings: CacheSettings,
        redis_url: str | None = None,
        uncached_tenants: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self.uncached_tenants = uncached_tenants  # tenants whose settings say ``cache: false``
        self.endpoints = frozenset(settings.endpoints)
        self.l1 = MemoryStore(settings.l1_max_bytes, settings.l1_ttl_seconds)
        self.l2: RedisStore | None = None
        if settings.enabled and settings.l2_enabled and redis_url:
            from gateway.cache.redis_store import RedisStore

            self.l2 = RedisStore(
                redis_url,
                prefix=settings.l2_prefix,
                ttl_s=settings.l2_ttl_seconds,
                timeout_s=settings.redis_timeout_seconds,
                retry_s=settings.redis_retry_seconds,
            )

    @classmethod
    def from_settings(cls, settings: Settings | None) -> CachePolicy:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        uncached = frozenset(name for name, tenant in settings.tenants.items() if tenant.cache is False)
        return cls(settings.cache, settings.redis_url, uncached)

    def _cacheable(self, call: Call) -> bool:
        if not self.enabled or call.endpoint not in self.endpoints or keys.bypassed(call.ctx.headers):
            return False
        principal = call.ctx.principal
        if (
            self.uncached_tenants
            and (principal.tenant if principal else "anonymous") in self.uncached_tenants
        ):
            return False
        if call.endpoint == "embeddings":
            return True  # an embedding depends on its input alone
        opt_in = keys.opted_in(call.ctx.headers, self.settings.opt_in_header)
        return opt_in or keys.is_deterministic(call.body)

    async def _lookup(self, key: str) -> tuple[Entry | None, str]:
        entry = self.l1.get(key)
        if entry is not None:
            return entry, "l1"
        if self.l2 is not None:
            entry = await self.l2.get(key)
            if entry is not None:
                self.l1.put(key, entry)
                return entry, "l2"
        return None, "miss"

    async def before(self, call: Call) -> Answer | None:
        if not self._cacheable(call):
            return None
        if call.endpoint == "embeddings":
            return await self._embeddings_before(call)
        key = keys.request_key(call.ctx, call.body)
        entry, level = await self._lookup(key)
        call.ctx.cache_level = level
        if entry is not None and entry.kind == ("stream" if call.stream else "json"):
            call.ctx.saved_usage = entry.usage
            call.add_headers({HEADER: "hit"})
            if entry.kind == "stream":
                return _replay(entry.parts)
            answer: dict[str, Any] = orjson.loads(entry.parts[0])  # a fresh dict: later hooks may change it
            return answer
        call.ctx.cache_level = "miss"
        call.add_headers({HEADER: "miss"})
        call.notes[_KEY] = key
        if call.stream:
            call.notes[_EVENTS] = _Collected()
        return None

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        lookup: Lookup | None = call.notes.get(_LOOKUP)
        if lookup is not None:
            whole, new = completed(lookup, answer)
            self._store_many(new)
            return whole
        key = call.notes.get(_KEY)
        if key is None or "error" in answer:
            return answer
        usage = call.ctx.usage or answer.get("usage")
        payload = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
        if len(payload) <= self.settings.max_entry_bytes:
            self._store_many([(key, Entry("json", (payload,), usage))])
        return answer

    def applies(self, call: Call) -> bool:
        return _EVENTS in call.notes

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        collected: _Collected | None = call.notes.get(_EVENTS)
        if collected is None or collected.failed:
            return event
        collected.size += len(event)
        if collected.size > self.settings.max_entry_bytes or _ERROR_EVENT.match(event):
            collected.failed = True
            collected.events.clear()  # nothing will be stored: give the memory back now
        else:
            collected.events.append(event)
        return event

    def on_stream_end(self, call: Call) -> None:
        collected: _Collected | None = call.notes.pop(_EVENTS, None)
        if collected is None or collected.failed or not collected.events:
            return
        if not collected.events[-1].endswith(DONE):
            return  # the client left, or the stream was cut: not a whole answer
        entry = Entry("stream", tuple(collected.events), call.ctx.usage)
        self._store_many([(call.notes[_KEY], entry)])

    def _store_many(self, entries: list[tuple[str, Entry]]) -> None:
        for key, entry in entries:
            self.l1.put(key, entry)
        if self.l2 is not None:
            self.l2.put_many(entries)

    async def _embeddings_before(self, call: Call) -> Answer | None:
        shape = inputs_of(call.body.get("input"))
        if shape is None:
            return None  # the endpoint refuses it
        inputs, single = shape
        input_keys = keys.input_keys(call.ctx, call.body, inputs)
        found: list[Entry | None] = [self.l1.get(key) for key in input_keys]
        level = "l1"
        gaps = [index for index, entry in enumerate(found) if entry is None]
        if gaps and self.l2 is not None:
            for index, entry in zip(gaps, await self.l2.get_many([input_keys[i] for i in gaps]), strict=True):
                if entry is not None and entry.kind == "embedding":
                    found[index] = entry
                    self.l1.put(input_keys[index], entry)
                    level = "l2"
        lookup = Lookup(inputs, single, input_keys, found, level)
        stored = len(inputs) - len(lookup.missing)
        call.add_headers(
            {HEADER: "miss" if lookup.missing else "hit", INPUTS_HEADER: f"{stored}/{len(inputs)}"}
        )
        if stored:
            call.ctx.saved_usage = lookup.saved_usage()
        if not lookup.missing:
            call.ctx.cache_level = level
            return stored_answer(lookup, call.body.get("model", call.model))
        call.ctx.cache_level = "miss"
        call.notes[_LOOKUP] = lookup
        if stored:
            call.body = {**call.body, "input": lookup.asked_input()}
        return None

    async def close(self) -> None:
        if self.l2 is not None:
            await self.l2.close()


async def _replay(events: tuple[bytes, ...]) -> AsyncIterator[bytes]:
    for event in events:
        yield event
