"""The cache benchmark (``bench_cache.py``): a hit's cost, from the L1 and the Redis L2, beside a miss."""
