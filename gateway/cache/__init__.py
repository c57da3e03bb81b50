"""The gateway's response cache (docs/cache.md), used by the ``cache`` policy: the key of a request
(``key``), what an entry holds (``entry``), the in-process L1 (``memory``), the Redis L2 (``redis_store``)
and the per-input lookup of embeddings (``embeddings``)."""
