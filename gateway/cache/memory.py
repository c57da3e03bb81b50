"""The L1: an in-process LRU of cache entries bounded by the bytes they hold, each entry with a TTL.

Every operation is O(1) (an ``OrderedDict``: a hit moves the entry to the end, a store evicts from the
front until the bound holds). An expired entry is removed when it is next looked up, or earlier when the
bound evicts it as the least recently used; the bound counts it until then, so memory never exceeds it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from gateway.cache.entry import Entry


class MemoryStore:
    """Entries by key, at most ``max_bytes`` of them together, each kept ``ttl_s`` seconds."""

    def __init__(self, max_bytes: int, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.clock = clock
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, Entry]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, entry = found
        if self.clock() >= expires:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> bool:
        """Keep ``entry`` under ``key`` (replacing what was there); False when it alone exceeds the bound."""
        size = entry.size
        if size > self.max_bytes:
            return False
        if key in self._entries:
            self._remove(key)
        self._entries[key] = (self.clock() + self.ttl_s, entry)
        self.bytes += size
        while self.bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))
        return True

    def _remove(self, key: str) -> None:
        _, entry = self._entries.pop(key)
        self.bytes -= entry.size

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
