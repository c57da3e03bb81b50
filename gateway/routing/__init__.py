"""Routing: model routes, worker pools, load balancing, health, discovery and resilience.

``Router`` (router.py) is the ``ModelRouter`` the API layer uses: ``Router.from_settings(settings.gateway)``.
Around it: ``pool`` (workers and their state), ``balancer`` (least-loaded, round-robin, affinity),
``breaker``, ``retry``, ``vllm_metrics`` (vLLM's load gauges), ``health`` and ``discovery`` (background
upkeep of the worker sets).
"""

from __future__ import annotations

from gateway.routing.router import Router

__all__ = ["Router"]
