"""The gateway's ``ModelRouter``: model routes, worker choice, retries, fallback, deadlines and streaming.

A request walks its model's chain of upstreams. On each it tries up to ``retry.attempts`` workers (another
worker first where the pool has one), backing off with full jitter between tries; a worker that answered
429 with Retry-After is left alone for that long (capped) and the router waits only if no other worker
can take the request. Errors that are the client's fault end the request at once; everything else moves
to the next upstream once this one is exhausted or has no healthy worker. The whole walk is bounded by the
request's deadline. Streams are retried the same way until their first event arrived; after that a
failure ends the stream with an SSE error event, and the deadline still holds between events.

Model names are routes of the settings (``gateway.models``) or, with ``registry`` settings and a tracking
URI, versions of the model registry (``registry_routes``, kept current by ``registry_watch``): a
registered name wins over a settings route of the same name. Extractive versions are answered in process
(``gateway.upstreams.extractive``).

Construction: ``Router.from_settings(settings.gateway, registry=settings.registry,
tracking_uri=settings.mlflow_tracking_uri)`` (without ``registry``, settings routes only), then
``await router.start()`` inside the app's lifespan and ``await router.close()`` at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from gateway.context import RequestContext
from gateway.errors import (
    DeadlineExceeded,
    InvalidRequest,
    ModelNotFound,
)
from gateway.router_protocol import ModelInfo
from gateway.routing.balancer import Balancer
from gateway.routing.catalog import VersionRoute
from gateway.routing.discovery import Resolver, refresh_all, system_resolver
from gateway.routing.final_error import final_error
from gateway.routing.health import check_pools
from gateway.routing.link import Link
from gateway.routing.periodic import spawn
from gateway.routing.pool import Pool
from gateway.routing.registry_routes import RegistryRoutes
from gateway.routing.registry_watch import Loader, RegistryWatcher
from gateway.routing.relay import first_event, relay
from gateway.routing.retry import backoff, honoured_retry_after
from gateway.routing.vllm_metrics import scrape_pools, scraped
from gateway.routing.worker import DOWN_AFTER_FAILED_CHECKS, Lease, Worker
from gateway.telemetry.metrics import ERRORS, FALLBACKS, RETRIES
from gateway.upstreams import extractive, make_provider
from gateway.upstreams.base import UpstreamStream, normalize_usage
from gateway.upstreams.errors import UpstreamError
from gateway.upstreams.provider import Provider
from genai.settings.gateway import GatewaySettings
from genai.settings.registry import RegistrySettings

log = logging.getLogger(__name__)

T = TypeVar("T")
Attempt = Callable[[RequestContext, "Link", Worker, dict[str, Any]], Awaitable[T]]


class _NextUpstream(Exception):
    """This upstream cannot serve the request; carries its last failure (None: no worker was available)."""

    def __init__(self, failure: UpstreamError | None) -> None:
        super().__init__(failure)
        self.failure = failure


class Router:
    """Routes OpenAI-format requests to upstreams; implements ``gateway.router_protocol.ModelRouter``."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        resolver: Resolver | None = None,
        rng: random.Random | None = None,
        registry: RegistrySettings | None = None,
        tracking_uri: str | None = None,
        load: Loader | None = None,
    ) -> None:
        self.settings = settings
        self._resolver: Resolver = resolver or system_resolver
        self._rng = rng or random.Random()
        # Scraped gauges older than a few intervals describe a past load; only in-flight counts then.
        fresh_for = 3 * settings.scrape_interval
        self.pools: dict[str, Pool] = {}
        self.providers: dict[str, Provider] = {}
        for name, upstream in settings.upstreams.items():
            balancer = Balancer(settings.balancing, fresh_for)
            self.pools[name] = Pool(name, upstream, settings.breaker, balancer, settings.affinity != "none")
            self.providers[name] = make_provider(name, upstream)
        self._routes: dict[str, tuple[Link, ...]] = {
            model: tuple(
                Link(t.upstream, self.pools[t.upstream], self.providers[t.upstream], t.model or model)
                for t in route.targets
            )
            for model, route in settings.models.items()
        }
        # Embeddings skip the upstreams whose API has none (Anthropic's) when walking a fallback chain.
        self._embedding_routes = {
            model: tuple(link for link in links if link.provider.supports("embeddings"))
            for model, links in self._routes.items()
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._health_running = False
        self._registry: RegistryRoutes | None = None
        if registry is not None and registry.enabled and tracking_uri:
            upstreams = {name: (self.pools[name], self.providers[name]) for name in self.pools}
            self._registry = RegistryRoutes(settings, registry, upstreams, tracking_uri, load=load)

    @classmethod
    def from_settings(cls, settings: GatewaySettings, **options: Any) -> Router:
        return cls(settings, **options)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        settings = self.settings
        dns_pools = [pool for pool in self.pools.values() if pool.settings.dns]
        if dns_pools:
            await refresh_all(dns_pools, self._resolver)
            self._tasks.append(
                spawn(
                    settings.discovery_interval,
                    lambda: refresh_all(dns_pools, self._resolver),
                    "discovery",
                    wait_first=True,
                )
            )
        if any(pool.settings.health_path for pool in self.pools.values()):
            await self._check_health()
            self._tasks.append(spawn(settings.health_interval, self._check_health, "health", wait_first=True))
            self._health_running = True
        if any(scraped(pool, provider) for pool, provider in self._all_pools()) or self._registry:
            self._tasks.append(spawn(settings.scrape_interval, self._scrape, "scrape"))
        if self._registry is not None:
            if not self._health_running:
                # Registered versions' own workers come with later snapshots: check them from the start.
                self._tasks.append(spawn(settings.health_interval, self._check_health, "health"))
                self._health_running = True
            self._registry.start()  # the first poll runs in the background: start-up never waits for it

    async def close(self) -> None:
        if self._registry is not None:
            await self._registry.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._health_running = False
        await asyncio.gather(*(provider.close() for provider in self.providers.values()))

    @property
    def watcher(self) -> RegistryWatcher | None:
        return self._registry.watcher if self._registry is not None else None

    def _all_pools(self) -> list[tuple[Pool, Provider]]:
        pools = [(pool, self.providers[name]) for name, pool in self.pools.items()]
        if self._registry is not None:
            pools += self._registry.endpoint_pools()
        return pools

    async def _check_health(self) -> None:
        await check_pools(self._all_pools(), self.settings.health_interval)

    async def _scrape(self) -> None:
        await scrape_pools(self._all_pools(), self.settings.scrape_interval)

    # -- what the API layer asks -----------------------------------------------------------------------

    def models(self) -> list[ModelInfo]:
        registered = self._registry.models() if self._registry is not None else []
        names = {info.name for info in registered}
        return registered + [
            ModelInfo(name, route.owned_by, route.context_window)
            for name, route in self.settings.models.items()
            if name not in names
        ]

    def knows(self, model: str) -> bool:
        return model in self._routes or (self._registry is not None and self._registry.knows(model))

    def pin(self, ctx: RequestContext) -> None:
        if self._registry is not None and self._registry.pin(ctx):
            return
        route = self.settings.models.get(ctx.model)
        if route is not None:
            ctx.context_window = route.context_window

    def ready(self) -> bool:
        """Settings routes have a worker up, and the registry was read once (when it has a store)."""
        if self.watcher is not None and not self.watcher.ready:
            return False
        now = time.monotonic()
        return all(any(link.pool.has_available(now) for link in links) for links in self._routes.values())

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        status: dict[str, Any] = {
            "ready": self.ready(),
            "models": {
                model: [{"upstream": link.name, "model": link.model} for link in links]
                for model, links in self._routes.items()
            },
            "upstreams": {name: pool.status(now) for name, pool in self.pools.items()},
        }
        if self._registry is not None:
            status["registry"] = self._registry.status()
        return status

    def _version_route(self, ctx: RequestContext) -> VersionRoute | None:
        return self._registry.route(ctx) if self._registry is not None else None

    async def complete(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        ctx.router_started = time.monotonic()
        route = self._version_route(ctx)
        try:
            if route is not None and route.in_process:
                return extractive.complete(ctx, body)
            answer = await self._walk(ctx, body, self._complete_once)
        finally:
            ctx.router_stopped = time.monotonic()
        # Recorded, not metered: the API layer's usage record carries it to the sinks.
        ctx.usage = normalize_usage(answer.get("usage"))
        return answer

    async def embed(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        route = self._version_route(ctx)
        if route is not None:
            if route.in_process or not route.embedding_links:
                message = f"The model '{ctx.model}' ({route.entry.ref}) cannot embed."
                raise InvalidRequest(message, param="model")
            return await self.complete(ctx, body)
        links = self._embedding_routes.get(ctx.model)
        if links is not None and not links:
            kinds = sorted({link.provider.kind for link in self._routes[ctx.model]})
            raise InvalidRequest(
                f"The model '{ctx.model}' cannot embed: its upstreams ({', '.join(kinds)}) have no "
                "embeddings API.",
                param="model",
            )
        return await self.complete(ctx, body)

    async def stream(self, ctx: RequestContext, body: dict[str, Any]) -> AsyncIterator[bytes]:
        ctx.router_started = time.monotonic()
        route = self._version_route(ctx)
        if route is not None and route.in_process:
            try:
                return extractive.stream(ctx, body)  # stops the router's clock when it ends
            except BaseException:
                ctx.router_stopped = time.monotonic()
                raise
        try:
            upstream, first, link, lease = await self._walk(ctx, body, self._open_once)
        except BaseException:
            ctx.router_stopped = time.monotonic()
            raise
        # The relay stops the router's clock when the stream ends.
        return relay(ctx, lease, upstream, first, link.pool.settings.timeout)

    # -- one attempt -----------------------------------------------------------------------------------

    async def _complete_once(
        self, ctx: RequestContext, link: Link, worker: Worker, body: dict[str, Any]
    ) -> dict[str, Any]:
        lease = Lease(worker)
        try:
            answer = await self._bounded(ctx, link, link.provider.complete(worker.url, ctx, body, link.model))
        except BaseException as error:
            lease.finish(False if isinstance(error, UpstreamError) and error.worker_fault else None)
            raise
        lease.finish(True)
        return answer

    async def _open_once(
        self, ctx: RequestContext, link: Link, worker: Worker, body: dict[str, Any]
    ) -> tuple[UpstreamStream, bytes, Link, Lease]:
        lease = Lease(worker)
        try:
            upstream, first = await self._bounded(
                ctx, link, first_event(link.provider, link.model, worker, ctx, body)
            )
        except BaseException as error:
            lease.finish(False if isinstance(error, UpstreamError) and error.worker_fault else None)
            raise
        return upstream, first, link, lease

    @staticmethod
    async def _bounded(ctx: RequestContext, link: Link, work: Awaitable[T]) -> T:
        """Await ``work`` within the upstream's timeout and the request's deadline."""
        remaining = ctx.remaining()
        limit = link.pool.settings.timeout
        try:
            async with asyncio.timeout(min(limit, remaining)):
                return await work
        except TimeoutError:
            if remaining <= limit:
                raise DeadlineExceeded("the request's deadline passed before the upstream answered") from None
            raise UpstreamError(f"upstream gave no answer in {limit:g}s", reason="timeout") from None

    # -- retries and fallback --------------------------------------------------------------------------

    async def _walk(self, ctx: RequestContext, body: dict[str, Any], attempt: Attempt[T]) -> T:
        embeddings = ctx.endpoint == "embeddings"
        route = self._version_route(ctx)
        if route is not None:
            links: tuple[Link, ...] | None = route.embedding_links if embeddings else route.links
        else:
            links = (self._embedding_routes if embeddings else self._routes).get(ctx.model)
        if links is None:
            raise ModelNotFound(f"the model {ctx.model!r} does not exist", param="model")
        failure: UpstreamError | None = None
        for position, link in enumerate(links):
            if position:
                previous = links[position - 1].name
                ctx.fallbacks += 1
                FALLBACKS.labels(ctx.model, previous, link.name).inc()
                log.warning("request %s: falling back from %s to %s", ctx.request_id, previous, link.name)
            try:
                return await self._on_upstream(ctx, body, link, attempt)
            except _NextUpstream as exhausted:
                failure = exhausted.failure or failure
        raise final_error(ctx.model, failure)

    async def _on_upstream(
        self, ctx: RequestContext, body: dict[str, Any], link: Link, attempt: Attempt[T]
    ) -> T:
        key = self._affinity_key(ctx, body)
        tried: list[Worker] = []
        failure: UpstreamError | None = None
        retry = self.settings.retry
        for number in range(retry.attempts):
            worker = await self._pick(ctx, link, key, tried)
            if worker is None:
                raise _NextUpstream(failure)
            tried.append(worker)
            ctx.attempts += 1
            ctx.upstream, ctx.worker, ctx.served_model = link.name, worker.url, link.model
            try:
                return await attempt(ctx, link, worker, body)
            except UpstreamError as error:
                failure = error
            self._note_failure(ctx, link, worker, failure)
            if failure.reason == "bad_request":
                # The client's mistake: no other worker or vendor would answer differently.
                status = 400 if failure.status == 422 else failure.status
                raise InvalidRequest(failure.message, status=status) from failure
            if not failure.retryable or number + 1 == retry.attempts:
                break
            delay = backoff(number, retry, self._rng)
            if delay >= ctx.remaining():
                break
            RETRIES.labels(link.name, failure.reason).inc()
            await asyncio.sleep(delay)
        raise _NextUpstream(failure)

    async def _pick(
        self, ctx: RequestContext, link: Link, key: str | None, tried: list[Worker]
    ) -> Worker | None:
        if ctx.remaining() <= 0:
            raise DeadlineExceeded("the request's deadline passed before an upstream answered")
        now = time.monotonic()
        worker = link.pool.pick(now, key, tried)
        if worker is None:
            # Workers that only asked for a pause (429 + Retry-After) are worth waiting for if the
            # deadline allows; down or open-circuit ones are not.
            until = link.pool.cooldown_end(now)
            if until is not None and until - now < ctx.remaining():
                await asyncio.sleep(until - now)
                worker = link.pool.pick(time.monotonic(), key, tried)
        return worker

    def _note_failure(self, ctx: RequestContext, link: Link, worker: Worker, error: UpstreamError) -> None:
        ERRORS.labels(ctx.model, worker.url, error.reason).inc()
        log.warning(
            "request %s: %s worker %s failed (%s): %s",
            ctx.request_id,
            link.name,
            worker.url,
            error.reason,
            error.message,
        )
        if error.reason == "rate_limited" and error.retry_after is not None:
            pause = honoured_retry_after(error.retry_after, self.settings.retry)
            worker.cooldown_until = max(worker.cooldown_until, time.monotonic() + pause)
        elif error.reason == "connect" and self._health_running and link.pool.settings.health_path:
            # Nothing listens there: stop sending until the health checker sees it again.
            worker.up = False
            worker.failed_checks = DOWN_AFTER_FAILED_CHECKS

    def _affinity_key(self, ctx: RequestContext, body: dict[str, Any]) -> str | None:
        mode = self.settings.affinity
        if mode == "none":
            return None
        if ctx.affinity_key:
            return ctx.affinity_key
        if mode == "user":
            user = ctx.user or body.get("user")
            return user if isinstance(user, str) and user else None
        return None
