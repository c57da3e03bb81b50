"""Parsing vLLM's Prometheus /metrics for the three load gauges the balancer uses, and how a worker's load
estimate combines them with the gateway's own in-flight count."""

from __future__ import annotations

import pytest

from gateway.routing.vllm_metrics import VllmLoad, parse_vllm_metrics
from gateway.routing.worker import Worker
from genai.settings.gateway import BreakerSettings

# Shaped like vLLM 0.10's exposition: HELP/TYPE lines, labelled series, histograms and counters around.
EXPOSITION = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="/models/tiny"} 3.0
vllm:num_requests_running{engine="1",model_name="/models/tiny"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="/models/tiny"} 4.0
vllm:num_requests_waiting{engine="1",model_name="/models/tiny"} 1.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="/models/tiny"} 0.25
vllm:kv_cache_usage_perc{engine="1",model_name="/models/tiny"} 0.5
vllm:num_requests_waiting_by_reason{engine="0",reason="capacity"} 99.0
vllm:prompt_tokens_total{engine="0",model_name="/models/tiny"} 1234.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",model_name="/models/tiny"} 7.0
process_resident_memory_bytes 1.5e+09
"""


def test_parse_sums_request_gauges_and_takes_fullest_cache_across_engines() -> None:
    load = parse_vllm_metrics(EXPOSITION)
    assert load == VllmLoad(waiting=5.0, running=5.0, kv_cache_usage=0.5)


def test_parse_ignores_metrics_that_only_share_a_prefix() -> None:
    # num_requests_waiting_by_reason (99) must not be added to num_requests_waiting.
    load = parse_vllm_metrics(EXPOSITION)
    assert load is not None and load.waiting == 5.0


def test_parse_tolerates_the_pre_0_10_cache_gauge_name() -> None:
    text = (
        'vllm:num_requests_running{model_name="m"} 1\n'
        'vllm:num_requests_waiting{model_name="m"} 0\n'
        'vllm:gpu_cache_usage_perc{model_name="m"} 0.75\n'
    )
    assert parse_vllm_metrics(text) == VllmLoad(waiting=0.0, running=1.0, kv_cache_usage=0.75)


def test_parse_without_cache_gauge_reports_none_for_it() -> None:
    load = parse_vllm_metrics("vllm:num_requests_running 2\nvllm:num_requests_waiting 0\n")
    assert load == VllmLoad(waiting=0.0, running=2.0, kv_cache_usage=None)


def test_parse_of_a_non_vllm_exposition_is_none() -> None:
    assert parse_vllm_metrics("# HELP up\nup 1\nprocess_cpu_seconds_total 3\n") is None
    assert parse_vllm_metrics("") is None


def test_parse_handles_quoted_braces_timestamps_and_bad_values() -> None:
    text = (
        'vllm:num_requests_running{model_name="odd } name",engine="0"} 2 1712345678000\n'
        'vllm:num_requests_waiting{engine="0"} NaN\n'
        'vllm:num_requests_waiting{engine="1"} 3\n'
        'vllm:num_requests_waiting{engine="2"} not-a-number\n'
        "vllm:kv_cache_usage_perc 1.7\n"
    )
    # NaN and garbage are skipped; a cache usage above 1 is clamped.
    assert parse_vllm_metrics(text) == VllmLoad(waiting=3.0, running=2.0, kv_cache_usage=1.0)


def test_parse_accepts_crlf_line_endings() -> None:
    text = "vllm:num_requests_running 1\r\nvllm:num_requests_waiting 2\r\n"
    assert parse_vllm_metrics(text) == VllmLoad(waiting=2.0, running=1.0, kv_cache_usage=None)


def _worker() -> Worker:
    return Worker("http://10.0.0.1:8000", "test-metrics-pool", BreakerSettings())


def test_load_without_metrics_is_the_gateways_in_flight_count() -> None:
    worker = _worker()
    worker.in_flight = 3
    assert worker.load(now=100.0, fresh_for=3.0) == 3.0


def test_load_adds_scraped_queue_and_counts_requests_sent_since_the_scrape() -> None:
    worker = _worker()
    worker.in_flight = 1
    worker.set_load(VllmLoad(waiting=2.0, running=4.0, kv_cache_usage=0.5), now=100.0)
    base = worker.load(now=100.5, fresh_for=3.0)
    # running + waiting + waiting again (queued requests weigh double) + 2 * cache usage
    assert base == pytest.approx(4 + 2 + 2 + 1.0)
    worker.in_flight += 2  # two requests sent after the scrape: vLLM's numbers do not know them yet
    assert worker.load(now=100.5, fresh_for=3.0) == pytest.approx(base + 2)


def test_stale_metrics_are_ignored() -> None:
    worker = _worker()
    worker.set_load(VllmLoad(waiting=50.0, running=50.0, kv_cache_usage=1.0), now=100.0)
    assert worker.load(now=110.0, fresh_for=3.0) == 0.0
