"""Rate limits and budgets of the gateway (the ``limits`` policy, ``gateway/policies/limits.py``).

``plan`` says what one request counts against (per key and per tenant: requests and tokens per minute,
spend per budget period) and what a check answered; ``estimate`` sizes a request before the call;
``scripts`` holds the two Lua scripts that reserve and settle in Redis; ``redis_backend`` runs them;
``memory`` is the in-process limiter with the same semantics; ``limiter`` picks Redis or memory and falls
back to memory while Redis is unreachable; ``headers`` writes the ``x-ratelimit-*`` headers and the
refusals.
"""
