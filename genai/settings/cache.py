"""Settings of the gateway's response cache policy: reserved until the policy lands."""

from __future__ import annotations

from genai.settings.placeholder import PlaceholderSection


class CacheSettings(PlaceholderSection):
    """Coming: which requests are cacheable, the in-process L1 size and TTL, and the Redis L2
    (``redis_url``) with its TTL."""
