"""API keys as the gateway checks them: by SHA-256 in the platform database, in a worker thread, with a
short cache so a busy key costs one dict lookup and the database sees a key at most once per
``auth.key_cache_seconds`` (a revoked key stops working within that time).

Concurrent requests with the same uncached key share one database read. Unknown keys are cached too
(same time), so a client retrying a bad key cannot make the database do the work; the cache has a bound
and is emptied when full. Expiry is checked on every request against the cached expiry, so an expiring
key stops on time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio.to_thread

from gateway.auth.credentials import unauthorized
from gateway.errors import AuthUnavailable
from gateway.principal import Principal
from genai.accesskeys import KeyInfo, find_key_by_hash, hash_key

if TYPE_CHECKING:
    from genai.settings import Settings

logger = logging.getLogger(__name__)

MAX_CACHED = 10_000

Lookup = Callable[[str], KeyInfo | None]


class _Entry:
    __slots__ = ("expires", "info", "principal", "until")

    def __init__(self, info: KeyInfo | None, until: float) -> None:
        self.info = info
        self.until = until  # monotonic time after which the database is asked again
        self.expires = info.expires_at.timestamp() if info and info.expires_at else None
        self.principal = (
            Principal(
                tenant=info.tenant,
                tier=info.tier,
                key_prefix=info.prefix,
                models=frozenset(info.models) if info.models is not None else None,
                budget_usd=info.budget_usd,
            )
            if info is not None
            else None
        )


class KeyStore:
    """Principals of API keys, read from the database through a short cache."""

    def __init__(self, lookup: Lookup, cache_seconds: float, max_cached: int = MAX_CACHED) -> None:
        self._lookup = lookup
        self.cache_seconds = cache_seconds
        self.max_cached = max_cached
        self._cache: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Task[_Entry]] = {}
        self._database_up = True

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        return cls(lambda key_hash: find_key_by_hash(settings, key_hash), settings.auth.key_cache_seconds)

    async def principal(self, key: str) -> Principal:
        """The principal of ``key``; 401 for an unknown, revoked or expired key, 503 when the database
        cannot be read and the key is not cached."""
        key_hash = hash_key(key)
        entry = self._cache.get(key_hash)
        if entry is None or entry.until <= time.monotonic():
            entry = await self._load(key_hash)
        if entry.principal is None or entry.info is None:
            raise unauthorized("Incorrect API key provided: no such key.")
        if entry.info.revoked_at is not None:
            raise unauthorized(f"The API key {entry.info.prefix}... was revoked.", code="revoked_api_key")
        if entry.expires is not None and entry.expires <= time.time():
            raise unauthorized(
                f"The API key {entry.info.prefix}... expired at {entry.info.expires_at}.",
                code="expired_api_key",
            )
        return entry.principal

    async def _load(self, key_hash: str) -> _Entry:
        task = self._loading.get(key_hash)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._read(key_hash))
            self._loading[key_hash] = task
            task.add_done_callback(lambda _: self._loading.pop(key_hash, None))
        # Shielded: one client leaving must not cancel the read other requests wait for.
        return await asyncio.shield(task)

    async def _read(self, key_hash: str) -> _Entry:
        try:
            info = await anyio.to_thread.run_sync(self._lookup, key_hash)
        except Exception as error:
            if self._database_up:
                logger.warning("API keys cannot be read from the database: %s", error)
                self._database_up = False
            raise AuthUnavailable(
                "The gateway cannot check API keys right now (its database is unreachable); retry shortly."
            ) from error
        if not self._database_up:
            logger.warning("API keys are read from the database again")
            self._database_up = True
        entry = _Entry(info, time.monotonic() + self.cache_seconds)
        if self.cache_seconds > 0:
            if len(self._cache) >= self.max_cached:
                self._evict()
            self._cache[key_hash] = entry
        return entry

    def _evict(self) -> None:
        now = time.monotonic()
        for stale in [key for key, entry in self._cache.items() if entry.until <= now]:
            del self._cache[stale]
        if len(self._cache) >= self.max_cached:
            self._cache.clear()

    def forget(self) -> None:
        """Drop every cached key (the next request of each reads the database)."""
        self._cache.clear()
