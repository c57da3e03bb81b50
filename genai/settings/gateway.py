"""Settings of the online path: the gateway itself, the upstreams it forwards to, and the model routes.

An *upstream* is one provider endpoint or a pool of identical workers (e.g. vLLM replicas), reached with
one protocol. A *model route* maps the model name that clients send to an ordered chain of upstreams: the
first is preferred, the rest are fallbacks (self-hosted pool -> another pool -> a hosted vendor).

Example (genai.yaml)::

    gateway:
      upstreams:
        tiny-a: {kind: openai, workers: ["http://10.0.0.5:8000", "http://10.0.0.6:8000"]}
        tiny-dns: {kind: openai, dns: "vllm-tiny.genai.svc.cluster.local:8000"}
        claude: {kind: anthropic, base_url: "https://...", api_key: "..."}
      models:
        tiny-chat:
          targets:
            - {upstream: tiny-a, model: /models/tiny}
            - {upstream: claude, model: claude-haiku}
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, SecretStr, model_validator

from genai.settings.gateway_limits import RequestLimits
from genai.settings.section import SettingsSection


class RetrySettings(SettingsSection):
    """Retries of one request on one upstream, before any byte reached the client."""

    attempts: int = Field(3, ge=1, le=10, description="Tries per upstream, the first included.")
    base_delay: float = Field(0.05, ge=0, description="Seconds before the first retry; doubles each time.")
    max_delay: float = Field(2.0, ge=0, description="Cap on one backoff (a Retry-After header may ask more).")
    max_retry_after: float = Field(10.0, ge=0, description="Longest Retry-After the gateway will honour.")


class BreakerSettings(SettingsSection):
    """Per-worker circuit breaker: closed -> open after failures -> half-open after a pause -> closed."""

    failure_threshold: int = Field(5, ge=1, description="Consecutive failures that open the circuit.")
    open_seconds: float = Field(10.0, gt=0, description="How long an open circuit refuses requests.")
    half_open_requests: int = Field(1, ge=1, description="Trial requests let through when half-open.")


class UpstreamSettings(SettingsSection):
    """One provider endpoint, or a pool of identical workers behind one protocol."""

    kind: Literal["openai", "anthropic"] = Field(
        "openai",
        description="'openai': any OpenAI-compatible server (vLLM, OpenAI, Azure, Ollama, TGI, "
        "SGLang...); 'anthropic': Anthropic's Messages API, translated both ways.",
    )
    workers: list[str] = Field(default_factory=list, description="Base URLs, e.g. http://10.0.0.5:8000.")
    base_url: str | None = Field(None, description="Shorthand for a single worker (hosted vendors).")
    dns: str | None = Field(
        None,
        description="host:port whose name resolves to several addresses (a Kubernetes headless "
        "service); re-resolved every discovery_interval seconds.",
    )
    scheme: Literal["http", "https"] = "http"
    api_key: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers on every request.")
    api_version: str | None = Field(None, description="Azure OpenAI's api-version query parameter.")
    vllm_metrics: bool = Field(True, description="Scrape each worker's /metrics for vLLM's load gauges.")
    health_path: str | None = Field("/health", description="Polled to mark workers up or down; None: off.")
    timeout: float = Field(60.0, gt=0, description="Seconds for one upstream request.")
    connect_timeout: float = Field(2.0, gt=0)
    max_connections: int = Field(256, ge=1)

    @model_validator(mode="after")
    def _has_endpoints(self) -> UpstreamSettings:
        if not (self.workers or self.base_url or self.dns):
            raise ValueError("an upstream needs workers, base_url or dns")
        return self


class RouteTarget(SettingsSection):
    """One link of a model's fallback chain."""

    upstream: str
    model: str | None = Field(None, description="The model name the upstream knows; default: the route's.")


class ModelRoute(SettingsSection):
    """What a client-facing model name resolves to."""

    targets: list[RouteTarget] = Field(min_length=1)
    context_window: int | None = Field(None, ge=1)
    owned_by: str = "genai-platform"


# The request policies the gateway knows (gateway/policies/, one module each), by the name a setting uses,
# listed in the order the default chain runs them: who may call first, then how much; screening sees the
# client's own prompt (a refused or redacted prompt never reaches the cache or a model); context adds the
# retrieved chunks (the cache key covers the prompt actually sent, and a stored answer carries its
# citations); response_format checks an answer before the cache may store it; the cache stores what the
# output filter then masks, so a tenant's filter applies to replays too; the sinks last.
PolicyName = Literal[
    "auth",
    "limits",
    "screening",
    "context",
    "response_format",
    "cache",
    "output_filter",
    "metrics",
    "access_log",
    "ledger",
    "audit",
]
# Every policy, in that order. Authentication, the ledger and audit switch themselves off by their own
# settings (auth.enabled, accounting.ledger / audit); the cache by cache.enabled.
_DEFAULT_POLICIES: tuple[PolicyName, ...] = get_args(PolicyName)


class GatewaySettings(SettingsSection):
    """The OpenAI-compatible gateway."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    request_limits: RequestLimits = Field(
        default_factory=RequestLimits, description="What one request or connection may take (hostile input)."
    )
    deadline_seconds: float = Field(120.0, gt=0, description="Whole-request deadline across retries.")
    balancing: Literal["least_loaded", "round_robin"] = "least_loaded"
    affinity: Literal["none", "user", "header"] = Field(
        "none", description="Session affinity: consistent hashing on the body's `user` or on a header."
    )
    affinity_header: str = "x-session-id"
    scrape_interval: float = Field(1.0, gt=0, description="Seconds between scrapes of workers' /metrics.")
    health_interval: float = Field(2.0, gt=0, description="Seconds between health checks.")
    discovery_interval: float = Field(10.0, gt=0, description="Seconds between DNS re-resolutions.")
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    embedding_models: list[str] = Field(
        default_factory=lambda: ["all-MiniLM-L6-v2"],
        description="Model names /v1/embeddings serves with the platform's own embedding model.",
    )
    upstreams: dict[str, UpstreamSettings] = Field(default_factory=dict)
    models: dict[str, ModelRoute] = Field(default_factory=dict)
    log_level: str = "INFO"
    policies: list[PolicyName] = Field(
        default_factory=lambda: list(_DEFAULT_POLICIES),
        description="The request policies every OpenAI endpoint goes through, in this order "
        "(docs/gateway.md, 'The request-policy chain').",
    )

    @model_validator(mode="after")
    def _policies_listed_once(self) -> GatewaySettings:
        repeated = sorted({name for name in self.policies if self.policies.count(name) > 1})
        if repeated:
            raise ValueError(f"gateway.policies names {', '.join(repeated)} more than once")
        return self

    @model_validator(mode="after")
    def _routes_name_known_upstreams(self) -> GatewaySettings:
        for name, route in self.models.items():
            for target in route.targets:
                if target.upstream not in self.upstreams:
                    raise ValueError(f"model {name!r} routes to unknown upstream {target.upstream!r}")
        return self
