"""The flows dashboard: flow runs by state and ingestion (genai metrics), the Prefect server."""

from __future__ import annotations

from panels.model import RATE, Dashboard, Panel, q

FLOWS = Dashboard(
    uid="genai-flows",
    title="Flows and ingestion",
    description="Flow runs by state (Prefect API) and ingestion from the run log and quarantine table "
    "(genai metrics), and the Prefect server's own health.",
    panels=(
        Panel(
            "Flow runs due in the last 24 h by state",
            "timeseries",
            (q("sum by (flow, state) (genai_prefect_flow_runs)", "{{flow}} {{state}}"),),
            "short",
            12,
            "Alert FlowRunsFailing on any FAILED or CRASHED run.",
        ),
        Panel(
            "Run time of the newest finished run",
            "timeseries",
            (q("max by (flow) (genai_prefect_flow_run_last_seconds)", "{{flow}}"),),
            "s",
            12,
        ),
        Panel(
            "Documents of finished runs by outcome (cumulative)",
            "timeseries",
            (q("sum by (outcome) (genai_ingest_documents_total)", "{{outcome}}"),),
            "short",
            12,
            "The running sum; increase() over a window misses a knowledge base's first run (a new series).",
        ),
        Panel(
            "Quarantined share of the last run",
            "timeseries",
            (q("max by (kb) (genai_ingest_last_run_quarantine_ratio)", "{{kb}}"),),
            "percentunit",
            12,
            "Alert IngestionQuarantineRateHigh above 5%.",
        ),
        Panel(
            "Open quarantine records",
            "stat",
            (q("sum by (kb) (genai_ingest_quarantine_open_records)", "{{kb}}"),),
            "short",
            8,
        ),
        Panel(
            "Ingestion runs by status",
            "stat",
            (q("sum by (status) (genai_ingest_runs)", "{{status}}"),),
            "short",
            8,
        ),
        Panel(
            "Hours since the last ingestion",
            "stat",
            (
                q(
                    "(time() - max by (kb) (genai_ingest_last_run_finished_timestamp_seconds)) / 3600",
                    "{{kb}}",
                ),
            ),
            "h",
            8,
        ),
        Panel(
            "Sources the exporter reads (1 up)",
            "timeseries",
            (
                q('up{job="platform"}', "exporter"),
                q("max(genai_ingest_database_up)", "database"),
                q("max(genai_prefect_api_up)", "Prefect API"),
                q('up{job="prefect"}', "Prefect server"),
            ),
            "short",
            12,
        ),
        Panel(
            "Prefect server CPU (cores)",
            "timeseries",
            (q(f'rate(process_cpu_seconds_total{{job="prefect"}}[{RATE}])', "cpu"),),
            "short",
            6,
        ),
        Panel(
            "Prefect server memory (MiB)",
            "timeseries",
            (q('process_resident_memory_bytes{job="prefect"} / 2^20', "resident"),),
            "short",
            6,
        ),
    ),
)
