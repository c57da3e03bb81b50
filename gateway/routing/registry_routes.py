"""The router's view of the model registry: the current snapshot, a route per version, and which version a
request's model name picks.

``RegistryRoutes.apply(snapshot)`` swaps everything in at once (one attribute assignment on the event
loop), so a request resolves against one consistent view. ``pin`` resolves a name: ``NAME`` is the
champion, except for the ``registry.canary[NAME]`` share of users, who get the challenger when there is
one; a user's share is fixed by a hash of the model name and the user's key, so the same user always lands
on the same side while the share stays the same (raising the share only moves users from champion to
challenger). Names that are not registered fall through to the settings' routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.context import RequestContext
from gateway.errors import ModelNotFound, NoHealthyUpstream
from gateway.router_protocol import ModelInfo
from gateway.routing.catalog import EndpointPools, VersionRoute, build_routes
from gateway.routing.pool import Pool
from gateway.routing.registry_watch import Loader, RegistryWatcher
from gateway.upstreams.provider import Provider
from genai.settings.gateway import GatewaySettings
from genai.settings.registry import RegistrySettings
from registry.errors import InvalidModelRefError, RegistryError
from registry.refs import ModelRef, parse_ref
from registry.snapshot import RegistrySnapshot

log = logging.getLogger(__name__)


def _caller(ctx: RequestContext) -> str | None:
    """The credential behind the request (a key prefix or a token subject), when there is one."""
    principal = ctx.principal
    if principal is None or principal.actor == "anonymous":
        return None
    return principal.actor


def canary_bucket(name: str, key: str) -> float:
    """Where ``key`` falls in [0, 1) for model ``name``: the same every time, on every gateway."""
    digest = hashlib.sha256(f"{name}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class RegistryRoutes:
    """Routes of the registered versions; ``snapshot`` is None until the first one was applied."""

    def __init__(
        self,
        gateway: GatewaySettings,
        registry: RegistrySettings,
        upstreams: Mapping[str, tuple[Pool, Provider]],
        tracking_uri: str,
        *,
        load: Loader | None = None,
    ) -> None:
        self._canary = dict(registry.canary)
        self._upstreams = upstreams
        self._endpoints = EndpointPools(gateway)
        self._grace = gateway.deadline_seconds
        self.snapshot: RegistrySnapshot | None = None
        self._routes: dict[str, VersionRoute] = {}
        self._retired: set[asyncio.Task[None]] = set()  # providers of endpoints no longer used, closing
        self.watcher = RegistryWatcher(tracking_uri, registry.poll_seconds, self.use_snapshot, load=load)

    # -- lifecycle and updates -------------------------------------------------------------------------

    def start(self) -> None:
        self.watcher.start()

    async def close(self) -> None:
        await self.watcher.close()
        for task in list(self._retired):
            task.cancel()
        await asyncio.gather(*self._retired, return_exceptions=True)
        await asyncio.gather(*(provider.close() for _, provider in self.endpoint_pools()))

    def use_snapshot(self, snapshot: RegistrySnapshot) -> None:
        """Serve ``snapshot`` from now on, in one swap on the event loop; the connections of endpoints no
        version uses any more are closed once the requests already on their way had their deadline."""
        routes, used = build_routes(snapshot, self._upstreams, self._endpoints)
        for route in routes.values():
            if route.problem and route.entry.ref not in self._routes:
                log.warning("registry: %s", route.problem)
        self.snapshot, self._routes = snapshot, routes
        for provider in self._endpoints.retire(used):
            task = asyncio.get_running_loop().create_task(self._close_later(provider))
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)

    async def _close_later(self, provider: Provider) -> None:
        try:
            await asyncio.sleep(self._grace)
        finally:
            await provider.close()

    # -- what requests ask -----------------------------------------------------------------------------

    def _ref(self, model: str) -> ModelRef | None:
        snapshot = self.snapshot
        if snapshot is None or not snapshot.models:
            return None
        try:
            ref = parse_ref(model)
        except InvalidModelRefError:
            return None
        return ref if ref.name in snapshot.models else None

    def knows(self, model: str) -> bool:
        return self._ref(model) is not None

    def pin(self, ctx: RequestContext) -> bool:
        """Pin ``ctx`` to the version its model names; False when the name is not a registered model."""
        ref = self._ref(ctx.model)
        if ref is None:
            return False
        snapshot, routes = self.snapshot, self._routes
        assert snapshot is not None
        if not ref.explicit:
            ref = self._canary_ref(ref, ctx, snapshot)
        try:
            entry = snapshot.resolve(ref)
        except RegistryError as error:
            raise ModelNotFound(str(error), param="model") from None
        route = routes.get(entry.ref)
        if route is None:
            raise ModelNotFound(f"the model version {entry.ref} is not served yet", param="model")
        if route.problem:
            raise NoHealthyUpstream(route.problem)
        ctx.version, ctx.model_version = entry, entry.ref
        ctx.context_window = entry.spec.context_window
        return True

    def _canary_ref(self, ref: ModelRef, ctx: RequestContext, snapshot: RegistrySnapshot) -> ModelRef:
        share = self._canary.get(ref.name, 0.0)
        if share <= 0 or "challenger" not in snapshot.models[ref.name].aliases:
            return ref
        key = ctx.user or ctx.affinity_key or _caller(ctx) or ctx.client_request_id or ctx.request_id
        if canary_bucket(ref.name, key) < share:
            return ModelRef(ref.name, "challenger")
        return ref

    def route(self, ctx: RequestContext) -> VersionRoute | None:
        """The route of the version ``ctx`` is pinned to (None: a settings route)."""
        if ctx.model_version is None:
            return None
        route = self._routes.get(ctx.model_version)
        if route is None:
            message = f"the model version {ctx.model_version} is no longer registered"
            raise ModelNotFound(message, param="model")
        return route

    def models(self) -> list[ModelInfo]:
        """Registered models that have a champion, as /v1/models lists them."""
        snapshot = self.snapshot
        if snapshot is None:
            return []
        listed = []
        for name, model in sorted(snapshot.models.items()):
            champion = model.versions.get(model.aliases.get("champion", 0))
            if champion is None:
                continue
            spec = champion.spec
            listed.append(
                ModelInfo(
                    name,
                    "registry",
                    spec.context_window,
                    version=champion.version,
                    kind=spec.kind,
                    aliases=dict(sorted(model.aliases.items())),
                )
            )
        return listed

    def endpoint_pools(self) -> Iterator[tuple[Pool, Provider]]:
        """The pools of the endpoints versions name themselves (health checks and scraping cover them)."""
        yield from list(self._endpoints.pools.values())

    def status(self) -> dict[str, Any]:
        snapshot = self.snapshot
        now = time.monotonic()
        return {
            **self.watcher.status(),
            "snapshot_taken_at": snapshot.taken_at if snapshot else None,
            "versions": {
                ref: (
                    {"problem": route.problem}
                    if route.problem
                    else {"kind": route.entry.spec.kind, "upstreams": [link.name for link in route.links]}
                )
                for ref, route in sorted(self._routes.items())
            },
            "endpoints": {pool.name: pool.status(now) for pool, _ in self.endpoint_pools()},
        }
