"""Settings of the gateway's response cache (the ``cache`` policy, docs/cache.md): which requests it keeps,
the in-process L1 (bounded by bytes, with a TTL) and the Redis L2 (``redis_url``, with a TTL of its own).

The L2 is on whenever ``redis_url`` is set and ``l2_enabled`` is true; without Redis the cache runs on the
L1 alone, and a Redis that stops answering is skipped until it answers again (serving never waits on it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from genai.settings.section import SettingsSection

CacheEndpoint = Literal["chat", "completions", "embeddings"]
ENDPOINTS: tuple[CacheEndpoint, ...] = ("chat", "completions", "embeddings")
GIB = 1024**3


class CacheSettings(SettingsSection):
    """What the ``cache`` policy keeps, where, and for how long."""

    enabled: bool = Field(True, description="Off: the policy passes every request through untouched.")
    endpoints: list[CacheEndpoint] = Field(
        default_factory=lambda: list(ENDPOINTS),
        description="The endpoints whose answers are cached.",
    )
    l1_max_bytes: int = Field(GIB, ge=0, description="The in-process L1 bound in stored bytes; 0: no L1.")
    l1_ttl_seconds: float = Field(3600.0, gt=0, description="How long an L1 entry lives.")
    l2_enabled: bool = Field(True, description="Use Redis as the L2 when redis_url is set.")
    l2_ttl_seconds: int = Field(86400, ge=1, description="How long an L2 entry lives (Redis EXPIRE).")
    l2_prefix: str = Field("genai:cache:", description="The prefix of every L2 key in Redis.")
    redis_timeout_seconds: float = Field(
        0.05, gt=0, description="Longest wait for one L2 read or write: past it the L2 counts as down."
    )
    redis_retry_seconds: float = Field(
        5.0, gt=0, description="How long a Redis found down is left alone before it is tried again."
    )
    max_entry_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1,
        description="Largest answer kept (a stream's events together); a bigger one is served, not stored.",
    )
    opt_in_header: str = Field(
        "x-genai-cache-opt-in",
        description="A request with this header set to 1/true/yes is cached even when it is not "
        "deterministic (temperature above 0 and no seed): the caller accepts a repeated answer.",
    )
