"""The gateway dashboard: traffic, latency, TTFT, tokens, cost, cache, limits, ledger, workers."""

from __future__ import annotations

from panels.model import RATE, Dashboard, Panel, p, q

GATEWAY = Dashboard(
    uid="genai-gateway",
    title="GenAI gateway",
    description="Traffic, latency, time to first token, tokens, cost, cache, limits, ledger and workers.",
    panels=(
        Panel(
            "Requests per second by status",
            "timeseries",
            (q(f"sum by (status) (rate(genai_gateway_requests_total[{RATE}]))", "{{status}}"),),
            "reqps",
            12,
            stack=True,
        ),
        Panel(
            "5xx share of answers",
            "timeseries",
            (
                q(
                    f'sum(rate(genai_gateway_requests_total{{status=~"5.."}}[{RATE}])) '
                    f"/ sum(rate(genai_gateway_requests_total[{RATE}]))",
                    "5xx",
                ),
            ),
            "percentunit",
            6,
            "Alert GatewayHighErrorRate above 5% for 5 minutes.",
        ),
        Panel(
            "In flight per worker",
            "timeseries",
            (q("sum by (worker) (genai_gateway_in_flight)", "{{worker}}"),),
            "short",
            6,
        ),
        Panel(
            "Request latency by endpoint",
            "timeseries",
            (
                q(p(0.5, "genai_gateway_request_seconds", "endpoint"), "p50 {{endpoint}}"),
                q(p(0.95, "genai_gateway_request_seconds", "endpoint"), "p95 {{endpoint}}"),
                q(p(0.99, "genai_gateway_request_seconds", "endpoint"), "p99 {{endpoint}}"),
            ),
            "s",
            12,
            "Alert GatewayLatencyP95High above 10 s for 10 minutes.",
        ),
        Panel(
            "Time to first token (streams)",
            "timeseries",
            (
                q(p(0.5, "genai_gateway_time_to_first_token_seconds", "model"), "p50 {{model}}"),
                q(p(0.95, "genai_gateway_time_to_first_token_seconds", "model"), "p95 {{model}}"),
            ),
            "s",
            12,
            "Alert GatewayTimeToFirstTokenP95High above 2 s for 10 minutes.",
        ),
        Panel(
            "Tokens per second by kind",
            "timeseries",
            (q(f"sum by (kind) (rate(genai_gateway_tokens_total[{RATE}]))", "{{kind}}"),),
            "short",
            8,
            stack=True,
        ),
        Panel(
            "Cost per hour by model (USD)",
            "timeseries",
            (q(f"sum by (model) (rate(genai_gateway_cost_usd_total[{RATE}])) * 3600", "{{model}}"),),
            "currencyUSD",
            8,
            "By the price table (accounting.prices); unpriced models add nothing here.",
        ),
        Panel(
            "Cost in the time range (USD)",
            "stat",
            (q("sum(increase(genai_gateway_cost_usd_total[$__range]))", "USD"),),
            "currencyUSD",
            8,
        ),
        Panel(
            "Cache lookups by result",
            "timeseries",
            (q(f"sum by (result) (rate(genai_gateway_cache_lookups_total[{RATE}]))", "{{result}}"),),
            "reqps",
            8,
            stack=True,
        ),
        Panel(
            "Cache hit ratio",
            "timeseries",
            (
                q(
                    f'sum(rate(genai_gateway_cache_lookups_total{{result=~"l1|l2"}}[{RATE}])) '
                    f"/ sum(rate(genai_gateway_cache_lookups_total[{RATE}]))",
                    "hits",
                ),
            ),
            "percentunit",
            8,
        ),
        Panel(
            "Tokens saved by the cache per second",
            "timeseries",
            (q(f"sum by (model) (rate(genai_gateway_cache_saved_tokens_total[{RATE}]))", "{{model}}"),),
            "short",
            8,
        ),
        Panel(
            "Limit rejections (429) by reason and scope",
            "timeseries",
            (
                q(
                    f"sum by (reason, scope) (rate(genai_gateway_limit_rejections_total[{RATE}]))",
                    "{{reason}} / {{scope}}",
                ),
            ),
            "reqps",
            8,
            "reason budget: a key's or tenant's budget is spent (alert BudgetExhausted).",
        ),
        Panel(
            "Ledger and audit backlog (rows)",
            "timeseries",
            (q("max by (log) (genai_gateway_ledger_backlog_rows)", "{{log}}"),),
            "short",
            8,
            "Alert LedgerBacklog above 5000 rows for 10 minutes.",
        ),
        Panel(
            "Redis and registry up",
            "timeseries",
            (
                q("max(genai_gateway_limits_redis_up)", "limits redis"),
                q("max(genai_gateway_cache_redis_up)", "cache redis"),
                q("min(genai_gateway_registry_up)", "registry"),
            ),
            "short",
            8,
        ),
        Panel(
            "Workers: health (1 up) and circuit (2 open)",
            "timeseries",
            (
                q("max by (worker) (genai_gateway_worker_up)", "up {{worker}}"),
                q("max by (worker) (genai_gateway_circuit_state)", "circuit {{worker}}"),
            ),
            "short",
            12,
        ),
        Panel(
            "Upstream attempt p95 by worker",
            "timeseries",
            (q(p(0.95, "genai_gateway_upstream_seconds", "worker"), "{{worker}}"),),
            "s",
            12,
        ),
        Panel(
            "Errors by type, retries and fallbacks",
            "timeseries",
            (
                q(f"sum by (type) (rate(genai_gateway_errors_total[{RATE}]))", "error {{type}}"),
                q(f"sum by (reason) (rate(genai_gateway_retries_total[{RATE}]))", "retry {{reason}}"),
                q(f"sum(rate(genai_gateway_fallbacks_total[{RATE}]))", "fallbacks"),
            ),
            "reqps",
            12,
        ),
        Panel(
            "Guard events by stage and action",
            "timeseries",
            (
                q(
                    f"sum by (stage, action) (rate(genai_gateway_guard_events_total[{RATE}]))",
                    "{{stage}} {{action}}",
                ),
            ),
            "short",
            12,
        ),
    ),
)
