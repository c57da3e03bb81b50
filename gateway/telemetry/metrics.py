"""Every Prometheus metric the gateway exports, defined in one place so the API layer and the router
record into the same series. Served at GET /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter(
    "genai_gateway_requests",
    "Requests answered, by model, endpoint and HTTP status.",
    ["model", "endpoint", "status"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "genai_gateway_errors",
    "Failed requests and upstream attempts, by model, worker and error type.",
    ["model", "worker", "type"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "genai_gateway_request_seconds",
    "Whole-request latency as the client sees it.",
    ["model", "endpoint"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "genai_gateway_time_to_first_token_seconds",
    "Streaming: request start to the first content event.",
    ["model"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
UPSTREAM_LATENCY = Histogram(
    "genai_gateway_upstream_seconds",
    "One upstream attempt's latency, by upstream and worker.",
    ["upstream", "worker"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TOKENS = Counter(
    "genai_gateway_tokens",
    "Tokens reported by upstreams, by model and kind (prompt / completion / cached).",
    ["model", "kind"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "genai_gateway_retries",
    "Retried upstream attempts, by upstream and reason.",
    ["upstream", "reason"],
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "genai_gateway_fallbacks",
    "Requests that moved to the next upstream of their route.",
    ["model", "from_upstream", "to_upstream"],
    registry=REGISTRY,
)
CIRCUIT_STATE = Gauge(
    "genai_gateway_circuit_state",
    "Circuit breaker per worker: 0 closed, 1 half-open, 2 open.",
    ["upstream", "worker"],
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "genai_gateway_in_flight",
    "Requests the gateway has in flight, per worker.",
    ["upstream", "worker"],
    registry=REGISTRY,
)
WORKER_UP = Gauge(
    "genai_gateway_worker_up",
    "1 when the worker passed its last health check.",
    ["upstream", "worker"],
    registry=REGISTRY,
)
REGISTRY_UP = Gauge(
    "genai_gateway_registry_up",
    "1 when the last poll of the model registry succeeded (or no registry store exists yet), 0 when it "
    "failed and the gateway serves the last snapshot it read; labelled by the registry's URI (credentials "
    "hidden), so that several gateways in one process do not overwrite each other.",
    ["registry"],
    registry=REGISTRY,
)
REGISTRY_POLLS_FAILED = Counter(
    "genai_gateway_registry_polls_failed",
    "Polls of the model registry that failed (the routes of the last snapshot stayed in place).",
    registry=REGISTRY,
)
COST_USD = Counter(
    "genai_gateway_cost_usd",
    "What requests cost in USD by the price table, by served model (unpriced requests add nothing).",
    ["model"],
    registry=REGISTRY,
)
LEDGER_BACKLOG = Gauge(
    "genai_gateway_ledger_backlog_rows",
    "Rows not yet in the database, by log (ledger, audit): queued in memory plus spooled on disk.",
    ["log"],
    registry=REGISTRY,
)
LEDGER_WRITE_FAILURES = Counter(
    "genai_gateway_ledger_write_failures",
    "Batch writes the database refused (the batch went to the disk spool), by log (ledger, audit).",
    ["log"],
    registry=REGISTRY,
)
LIMIT_REJECTIONS = Counter(
    "genai_gateway_limit_rejections",
    "Requests refused by the limits policy (429), by reason (requests, tokens, budget) and scope (key, "
    "tenant).",
    ["reason", "scope"],
    registry=REGISTRY,
)
LIMITS_REDIS_UP = Gauge(
    "genai_gateway_limits_redis_up",
    "1 while the rate limits and budgets are counted in the shared Redis, 0 while Redis is unreachable "
    "and each replica counts in process (absent without a Redis).",
    registry=REGISTRY,
)
CACHE_REDIS_UP = Gauge(
    "genai_gateway_cache_redis_up",
    "1 while the response cache's Redis L2 answers, 0 while it is unreachable and the gateway serves on "
    "its in-process L1 alone (absent without a Redis L2).",
    registry=REGISTRY,
)
LIMITS_IN_PROCESS = Counter(
    "genai_gateway_limits_in_process_decisions",
    "Requests whose limits were checked in this process because the configured Redis was unreachable.",
    registry=REGISTRY,
)
CACHE_LOOKUPS = Counter(
    "genai_gateway_cache_lookups",
    "Cacheable requests by model, endpoint and result (l1 or l2 for a hit, miss).",
    ["model", "endpoint", "result"],
    registry=REGISTRY,
)
CACHE_SAVED_TOKENS = Counter(
    "genai_gateway_cache_saved_tokens",
    "Tokens cache hits did not spend again, by model.",
    ["model"],
    registry=REGISTRY,
)
GUARD_EVENTS = Counter(
    "genai_gateway_guard_events",
    "Screening and output-filter findings, by stage (input, output), check, kind and action.",
    ["stage", "check", "kind", "action"],
    registry=REGISTRY,
)
