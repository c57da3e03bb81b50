"""Routes for the versions of the model registry, built from one ``RegistrySnapshot``.

A version's spec becomes a chain of one ``Link``:

* ``upstream``: the pool of that name in ``gateway.upstreams`` (shared with the settings' routes, so its
  health checks, breakers and load are the same);
* ``workers`` (vllm) or ``base_url`` (openai): a pool of its own per endpoint (``EndpointPools``), reused
  by every version and every later snapshot that names the same endpoint, so a worker's circuit state and
  in-flight count survive an alias move, and closed once no version of the current snapshot uses it.
  ``api_key_env`` is read from the environment when the pool is built (a registry never stores a secret);
* ``extractive``: no link: the gateway answers it in process (``gateway.upstreams.extractive``).

A spec that cannot be served here (an unknown upstream name, a key variable that is not set) gets a route
with a ``problem`` instead of links; a request for it is answered 503 with that sentence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.routing.balancer import Balancer
from gateway.routing.link import Link
from gateway.routing.pool import Pool
from gateway.upstreams import make_provider
from gateway.upstreams.provider import Provider
from genai.settings.gateway import GatewaySettings, UpstreamSettings
from registry.snapshot import RegistrySnapshot, VersionEntry
from registry.spec import ModelSpec

log = logging.getLogger(__name__)

EndpointKey = tuple[str, tuple[str, ...], str | None]  # (kind, base URLs, api_key_env)


@dataclass(frozen=True, slots=True)
class VersionRoute:
    """How one registered version is served."""

    entry: VersionEntry
    links: tuple[Link, ...] = ()
    embedding_links: tuple[Link, ...] = ()
    problem: str | None = None  # why it cannot be served, for the 503 and /readyz

    @property
    def in_process(self) -> bool:
        return self.entry.spec.kind == "extractive"


def endpoint_key(spec: ModelSpec) -> EndpointKey | None:
    """The endpoint a spec names itself (None when it names a settings upstream, or is extractive)."""
    if spec.kind == "extractive" or spec.upstream:
        return None
    urls = spec.workers or ((spec.base_url,) if spec.base_url else ())
    return (spec.kind, tuple(url.rstrip("/") for url in urls), spec.api_key_env)


class EndpointPools:
    """The pools of the endpoints registered versions name themselves, one per endpoint."""

    def __init__(self, gateway: GatewaySettings) -> None:
        self._gateway = gateway
        self.pools: dict[EndpointKey, tuple[Pool, Provider]] = {}

    def get(self, key: EndpointKey) -> tuple[Pool, Provider]:
        """The pool of ``key``, built on first use; ``KeyError`` names an API key variable that is unset."""
        found = self.pools.get(key)
        if found is None:
            found = self.pools[key] = self._build(key)
        return found

    def _build(self, key: EndpointKey) -> tuple[Pool, Provider]:
        kind, urls, key_env = key
        api_key = None
        if key_env:
            api_key = os.environ.get(key_env)
            if not api_key:
                raise KeyError(f"the environment variable {key_env} (the version's api_key_env) is not set")
        self_hosted = kind == "vllm"
        upstream = UpstreamSettings(
            kind="openai",
            workers=list(urls),
            api_key=api_key,
            # vLLM answers /health and /metrics; a hosted vendor has neither.
            health_path="/health" if self_hosted else None,
            vllm_metrics=self_hosted,
        )
        gateway = self._gateway
        name = f"registry:{','.join(urls)}"
        balancer = Balancer(gateway.balancing, 3 * gateway.scrape_interval)
        pool = Pool(name, upstream, gateway.breaker, balancer, gateway.affinity != "none")
        return pool, make_provider(name, upstream)

    def retire(self, used: set[EndpointKey]) -> list[Provider]:
        """Forget the pools no version uses any more; returns their providers, for the caller to close."""
        gone = [key for key in self.pools if key not in used]
        return [self.pools.pop(key)[1] for key in gone]


def build_routes(
    snapshot: RegistrySnapshot,
    upstreams: Mapping[str, tuple[Pool, Provider]],
    endpoints: EndpointPools,
) -> tuple[dict[str, VersionRoute], set[EndpointKey]]:
    """A route per version of ``snapshot`` (by ``NAME/N``), and the endpoints they use."""
    routes: dict[str, VersionRoute] = {}
    used: set[EndpointKey] = set()
    for model in snapshot.models.values():
        for entry in model.versions.values():
            route, key = _route(entry, upstreams, endpoints)
            routes[entry.ref] = route
            if key is not None:
                used.add(key)
    return routes, used


def _route(
    entry: VersionEntry, upstreams: Mapping[str, tuple[Pool, Provider]], endpoints: EndpointPools
) -> tuple[VersionRoute, EndpointKey | None]:
    spec = entry.spec
    if spec.kind == "extractive":
        return VersionRoute(entry), None
    model = spec.served_model or entry.name
    if spec.upstream:
        found = upstreams.get(spec.upstream)
        if found is None:
            known = ", ".join(sorted(upstreams)) or "none"
            problem = f"{entry.ref} names the upstream {spec.upstream!r}, not in gateway.upstreams ({known})"
            return VersionRoute(entry, problem=problem), None
        link = Link(spec.upstream, found[0], found[1], model)
        return _with_links(entry, link), None
    key = endpoint_key(spec)
    assert key is not None
    try:
        pool, provider = endpoints.get(key)
    except KeyError as error:
        return VersionRoute(entry, problem=f"{entry.ref} cannot be served: {error.args[0]}"), None
    return _with_links(entry, Link(pool.name, pool, provider, model)), key


def _with_links(entry: VersionEntry, link: Link) -> VersionRoute:
    embedding = (link,) if link.provider.supports("embeddings") else ()
    return VersionRoute(entry, (link,), embedding)
