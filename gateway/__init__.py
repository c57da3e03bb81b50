"""The OpenAI-compatible gateway: the platform's online serving path.

Requests never go through Prefect: the gateway calls plain functions. ``protocol/`` holds the OpenAI wire
models, ``api/`` the HTTP endpoints, ``upstreams/`` the providers (OpenAI-compatible servers such as vLLM,
Anthropic's Messages API), ``routing/`` model routes, worker pools, load balancing and resilience, and
``telemetry/`` metrics and logs.
"""
