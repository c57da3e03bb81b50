"""Cost report on a large ledger: 1,000,000 usage records in PostgreSQL, reported by the same plain
functions the flow and `genai report cost` call.

1. create a temporary database on the server at ``--url`` (default: the local trust-auth PostgreSQL) and
   migrate it (the platform's own tables and indexes);
2. generate ``--rows`` records in November 2026 with one ``INSERT ... SELECT ... generate_series`` (a
   seeded ``random()``: 50 tenants, 500 keys, 8 models and versions, 3 routes, ~5% errors, ~3% retries,
   ~8% cache hits, one model in eight unpriced, GPU-served and vendor-served upstreams), plus
   ``--rows / 10`` in October for the change against the previous period; ANALYZE (not timed);
3. time ``build_report`` for 2026-11 (every total, breakdown, percentile, top list, budget, GPU share,
   forecast: ~30 statements) ``--repeat`` times, then the ledger suite (its SQL extract with the window
   functions, the DataFrame, Great Expectations) once;
4. unless ``--no-flow``: run the whole flow (``flows.cost_report.cost_report``, 50 tenant budgets) twice
   on a temporary Prefect server, timed without the server's start;
5. drop the database.

Usage: ``python benchmarks/reports/bench_cost_report.py [--rows 1000000] [--repeat 3] [--out FILE]``.
Results go to docs/benchmarks/results/cost-report.json unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.provenance import RESULTS_DIR, provenance

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 12, 2, tzinfo=UTC)  # November is over: the forecast is the month itself
KNOWN = {"qa", "gpt-4o-mini", "gpt-4o", "tiny-chat"}  # claude-haiku, embed-small, unpriced-x: unknown

GENERATE = """
INSERT INTO usage_records (request_id, created_at, tenant, key_prefix, endpoint, route, model, model_version,
    upstream, worker, status, stream, prompt_tokens, completion_tokens, cached_tokens, latency_ms, ttft_ms,
    attempts, fallbacks, cost_usd, price_version, cache_hit, cache_level, saved_tokens, saved_cost_usd,
    response_retries)
SELECT 'bench-' || :tag || lpad(g::text, 9, '0'),
    CAST(:start AS timestamptz) + ((g - 1)::double precision / :rows) * (CAST(:stop AS timestamptz)
        - CAST(:start AS timestamptz)),
    'tenant-' || (g % 50), 'gk_k' || lpad((g % 500)::text, 8, '0'), 'chat', r.route, m.model, m.version,
    m.upstream, 'http://10.0.0.' || (g % 4) || ':' || 8000, s.status, g % 3 = 0, r.prompt, r.completion,
    (r.prompt / 8)::int, 40 + 400 * random(), 20 + 100 * random(),
    CASE WHEN random() < 0.03 THEN 2 ELSE 1 END, 0,
    CASE WHEN m.model = 'unpriced-x' THEN NULL
        ELSE (r.prompt * m.rate_in + r.completion * m.rate_out) / 1e6 END,
    'bench', h.hit, CASE WHEN h.hit THEN 'l1' ELSE 'miss' END,
    CASE WHEN h.hit THEN r.prompt + r.completion END,
    CASE WHEN h.hit THEN (r.prompt * m.rate_in + r.completion * m.rate_out) / 1e6 END,
    CASE WHEN random() < 0.01 THEN 1 ELSE 0 END
FROM generate_series(1, :rows) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['/v1/chat/completions', '/v1/completions', '/v1/embeddings'])[1 + g % 3]
    AS route, (50 + random() * 2000)::int AS prompt, (random() * 400)::int AS completion) AS r
CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.05
    THEN (ARRAY[400, 429, 500, 502])[1 + g % 4] ELSE 200 END AS status) AS s
CROSS JOIN LATERAL (SELECT g > 0 AND random() < 0.08 AS hit) AS h  -- g: once per row, not once
CROSS JOIN LATERAL (SELECT * FROM (VALUES
    (0, 'qa', 'qa/1', 'vllm', 0.2, 0.4), (1, 'qa', 'qa/2', 'vllm', 0.2, 0.4),
    (2, 'gpt-4o-mini', NULL, 'openai', 0.15, 0.6), (3, 'gpt-4o', NULL, 'openai', 2.5, 10.0),
    (4, 'tiny-chat', 'tiny-chat/3', 'vllm', 0.05, 0.1), (5, 'claude-haiku', NULL, 'anthropic', 0.8, 4.0),
    (6, 'embed-small', NULL, 'local', 0.02, 0.0), (7, 'unpriced-x', NULL, 'openai', 0.0, 0.0)
    ) AS v(i, model, version, upstream, rate_in, rate_out) WHERE v.i = (g::bigint * 7919) % 8) AS m
"""


def generate(url: str, rows: int) -> float:
    from sqlalchemy import text

    from genai.db import get_engine

    started = time.perf_counter()
    with get_engine(url).begin() as connection:
        connection.exec_driver_sql("SELECT setseed(0.42)")
        for tag, count, start, stop in (
            ("n", rows, "2026-11-01 00:00:00+00", "2026-12-01 00:00:00+00"),
            ("o", rows // 10, "2026-10-01 00:00:00+00", "2026-11-01 00:00:00+00"),
        ):
            connection.execute(text(GENERATE), {"tag": tag, "rows": count, "start": start, "stop": stop})
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE usage_records")
    return time.perf_counter() - started


def time_report(url: str, repeat: int) -> tuple[list[float], Any]:
    from genai.reports.build import build_report
    from genai.reports.periods import parse_period
    from genai.settings.reports import GpuPool, ReportsSettings

    reports = ReportsSettings(gpu_pools={"a100": GpuPool(upstream="vllm", gpus=4, gpu_hour_usd=2.4)})
    budgets = {f"tenant-{i}": 40.0 for i in range(50)}
    seconds, report = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        report = build_report(
            url,
            parse_period("2026-11"),
            reports=reports,
            tenant_budgets=budgets,
            now=datetime(2026, 12, 2, tzinfo=UTC),
        )
        seconds.append(time.perf_counter() - started)
    return seconds, report


def time_suite(url: str) -> dict[str, float | int]:
    from genai.db import get_engine
    from genai.quality.ledger_suite import check_ledger
    from genai.reports.aggregate import Scope
    from genai.reports.extract import ledger_extract
    from genai.reports.periods import parse_period

    period = parse_period("2026-11")
    started = time.perf_counter()
    with get_engine(url).connect() as connection:
        frame = ledger_extract(connection, Scope(period.start, period.end), 60, KNOWN)
    extracted = time.perf_counter()
    _, failures = check_ledger(frame, gap_seconds=600.0)
    done = time.perf_counter()
    return {
        "extract_s": round(extracted - started, 2),
        "suite_s": round(done - extracted, 2),
        "total_s": round(done - started, 2),
        "rows": len(frame),
        "failed_checks": len(failures),
    }


def time_flow(url: str, repeat: int) -> list[float]:
    """The whole flow (registry facts, ledger suite, report, chart, CSV, artifacts, alerts) on a temporary
    Prefect server, in a temporary GENAI_HOME whose database is the benchmark's."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="genai-bench-report-"))
    os.environ.update(GENAI_HOME=str(home), GENAI_DATABASE_URL=url, PREFECT_HOME=str(home / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # no telemetry: nothing leaves the machine
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ["GENAI_TENANTS"] = json.dumps({f"tenant-{i}": {"budget_usd": 40.0} for i in range(50)})
    from prefect.testing.utilities import prefect_test_harness

    from flows.cost_report import cost_report

    seconds = []
    with prefect_test_harness(server_startup_timeout=120):
        for _ in range(repeat):
            started = time.perf_counter()
            cost_report(period="2026-11")
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("GENAI_TEST_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-flow", action="store_true", help="Skip timing the whole flow.")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "cost-report.json")
    args = parser.parse_args()

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from genai.db import dispose_engine

    load_before = os.getloadavg()[0]  # other work on the machine slows every number here
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"genai_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        generation = generate(url, args.rows)
        print(f"generated {args.rows:,} + {args.rows // 10:,} records in {generation:.1f} s", flush=True)
        seconds, report = time_report(url, args.repeat)
        print(f"report: {', '.join(f'{s:.2f}' for s in seconds)} s", flush=True)
        suite = time_suite(url)
        print(f"ledger suite: {suite}", flush=True)
        flow = [] if args.no_flow else time_flow(url, 2)
        print(f"flow: {', '.join(f'{s:.2f}' for s in flow)} s", flush=True)
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    results = {
        **provenance(),
        "rows_in_period": args.rows,
        "rows_previous_period": args.rows // 10,
        "generate_s": round(generation, 1),
        "report_s": [round(s, 2) for s in seconds],
        "report_median_s": round(statistics.median(seconds), 2),
        "goal_s": 30,
        "ledger_suite": suite,
        "report_plus_suite_s": round(statistics.median(seconds) + float(suite["total_s"]), 2),
        # the first flow run also creates the MLflow store of the temporary home; the second finds it
        "flow_s": [round(s, 2) for s in flow],
        "cpus": os.cpu_count(),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "report_totals": report.totals.model_dump() if report else None,
        "cost_p50_usd": report.cost_p50_usd if report else None,
        "cost_p95_usd": report.cost_p95_usd if report else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
