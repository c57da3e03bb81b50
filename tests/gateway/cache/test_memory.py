"""The L1: bounded by the bytes its entries hold, least recently used out first, entries expire, and an
entry stored and read back is what was stored (also through the Redis encoding)."""

from __future__ import annotations

from gateway.cache.entry import Entry
from gateway.cache.memory import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry(size: int) -> Entry:
    return Entry("json", (b"x" * (size - 64),), {"prompt_tokens": 1})


def test_the_byte_bound_evicts_the_least_recently_used() -> None:
    store = MemoryStore(max_bytes=300, ttl_s=60)
    for key in "abc":
        assert store.put(key, entry(100))
    assert store.bytes == 300
    assert store.get("a") is not None  # "a" is now the most recently used: "b" goes first
    store.put("d", entry(100))
    assert store.get("b") is None
    assert [store.get(key) is not None for key in "acd"] == [True, True, True]
    assert store.bytes == 300 and len(store) == 3


def test_a_big_entry_evicts_as_many_as_it_needs_and_a_too_big_one_is_not_kept() -> None:
    store = MemoryStore(max_bytes=300, ttl_s=60)
    for key in "abc":
        store.put(key, entry(100))
    store.put("big", entry(250))
    assert len(store) == 1 and store.bytes == 250
    assert not store.put("huge", entry(301))
    assert store.get("huge") is None and store.get("big") is not None


def test_replacing_an_entry_counts_its_bytes_once() -> None:
    store = MemoryStore(max_bytes=1000, ttl_s=60)
    store.put("a", entry(100))
    store.put("a", entry(200))
    assert store.bytes == 200 and len(store) == 1


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    store = MemoryStore(max_bytes=1000, ttl_s=10, clock=clock)
    store.put("a", entry(100))
    clock.now += 9.9
    assert store.get("a") is not None
    clock.now += 0.2
    assert store.get("a") is None
    assert store.bytes == 0 and len(store) == 0


def test_a_zero_bound_keeps_nothing() -> None:
    store = MemoryStore(max_bytes=0, ttl_s=10)
    assert not store.put("a", entry(100))
    assert store.get("a") is None


def test_an_entry_survives_its_redis_encoding_and_damage_reads_as_a_miss() -> None:
    stream = Entry("stream", (b'data: {"a":1}\n\n', b"", b"data: [DONE]\n\n"), {"completion_tokens": 3})
    assert Entry.decode(stream.encode()) == stream
    assert Entry.decode(Entry("embedding", (b"[0.5]",), None).encode()) == Entry("embedding", (b"[0.5]",))
    data = stream.encode()
    assert Entry.decode(data[:-1]) is None  # truncated
    assert Entry.decode(b"not an entry") is None
    assert Entry.decode(data.replace(b'"f":1', b'"f":9')) is None  # another format
