"""The vLLM workers dashboard: the vllm:* series each worker serves on its own /metrics."""

from __future__ import annotations

from panels.model import RATE, Dashboard, Panel, p, q

VLLM = Dashboard(
    uid="genai-vllm",
    title="vLLM workers",
    description="Each worker's own /metrics (vllm:* series): load, KV cache, tokens, latency.",
    panels=(
        Panel("Workers scraped (1 up)", "timeseries", (q('up{job="vllm"}', "{{instance}}"),), "short", 8),
        Panel(
            "Requests running and waiting",
            "timeseries",
            (
                q("sum by (instance) (vllm:num_requests_running)", "running {{instance}}"),
                q("sum by (instance) (vllm:num_requests_waiting)", "waiting {{instance}}"),
            ),
            "short",
            8,
        ),
        Panel(
            "KV cache usage",
            "timeseries",
            (q("max by (instance) (vllm:kv_cache_usage_perc)", "{{instance}}"),),
            "percentunit",
            8,
        ),
        Panel(
            "Tokens per second",
            "timeseries",
            (
                q(f"sum by (instance) (rate(vllm:prompt_tokens_total[{RATE}]))", "prompt {{instance}}"),
                q(
                    f"sum by (instance) (rate(vllm:generation_tokens_total[{RATE}]))",
                    "generation {{instance}}",
                ),
            ),
            "short",
            12,
            stack=True,
        ),
        Panel(
            "Finished requests per second by reason",
            "timeseries",
            (
                q(
                    f"sum by (finished_reason) (rate(vllm:request_success_total[{RATE}]))",
                    "{{finished_reason}}",
                ),
            ),
            "reqps",
            12,
        ),
        Panel(
            "Time to first token (worker)",
            "timeseries",
            (
                q(p(0.5, "vllm:time_to_first_token_seconds", "instance"), "p50 {{instance}}"),
                q(p(0.95, "vllm:time_to_first_token_seconds", "instance"), "p95 {{instance}}"),
            ),
            "s",
            8,
        ),
        Panel(
            "End-to-end request latency p95",
            "timeseries",
            (q(p(0.95, "vllm:e2e_request_latency_seconds", "instance"), "{{instance}}"),),
            "s",
            8,
        ),
        Panel(
            "Queue time p95 and inter-token latency p95",
            "timeseries",
            (
                q(p(0.95, "vllm:request_queue_time_seconds", "instance"), "queue {{instance}}"),
                q(p(0.95, "vllm:inter_token_latency_seconds", "instance"), "inter-token {{instance}}"),
            ),
            "s",
            8,
        ),
        Panel(
            "Prefix cache hit ratio",
            "timeseries",
            (
                q(
                    f"sum by (instance) (rate(vllm:prefix_cache_hits_total[{RATE}])) "
                    f"/ sum by (instance) (rate(vllm:prefix_cache_queries_total[{RATE}]))",
                    "{{instance}}",
                ),
            ),
            "percentunit",
            12,
        ),
        Panel(
            "Preemptions per second",
            "timeseries",
            (q(f"sum by (instance) (rate(vllm:num_preemptions_total[{RATE}]))", "{{instance}}"),),
            "short",
            12,
        ),
    ),
)
