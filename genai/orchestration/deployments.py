"""The platform's deployments as served by `genai up`. deployments/prefect.yaml declares the same ones
for a shared Prefect server with work pools."""

from __future__ import annotations

from typing import Any

NIGHTLY_CRON = "0 2 * * *"  # UTC; the same schedule as evaluate-nightly in deployments/prefect.yaml
# UTC, as cost-report-daily and cost-report-weekly in deployments/prefect.yaml: yesterday's report shortly
# after midnight (the ledger's last batches are flushed within seconds), last week's on Monday morning.
COST_DAILY_CRON = "30 0 * * *"
COST_WEEKLY_CRON = "0 1 * * 1"


def platform_deployments() -> list[Any]:
    """Runner deployments for every flow the platform offers in the Prefect UI."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    from flows.cost_report import cost_report
    from flows.evaluate import evaluate
    from flows.ingest import ingest
    from flows.ingest_sharded import ingest_sharded
    from flows.promote import promote
    from flows.serve_batch import serve_batch

    module = EntrypointType.MODULE_PATH
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    return [
        ingest.to_deployment(
            name="ingest",
            description="Ingest a folder of documents into a knowledge base (parse, check, chunk, embed).",
            tags=["genai", "ingestion"],
            entrypoint_type=module,
        ),
        ingest_sharded.to_deployment(
            name="ingest-sharded",
            description="Ingest a large folder as parallel shard runs of ingest/ingest, then clean up.",
            tags=["genai", "ingestion", "sharded"],
            entrypoint_type=module,
        ),
        evaluate.to_deployment(
            name="evaluate",
            description="Evaluate registered versions on an eval set through the gateway; log to MLflow.",
            tags=["genai", "evaluation"],
            entrypoint_type=module,
        ),
        evaluate.to_deployment(
            name="evaluate-nightly",
            description="Nightly: every registered model's champion and challenger on the default eval set.",
            tags=["genai", "evaluation", "scheduled"],
            cron=NIGHTLY_CRON,  # UTC
            # One run at a time: a night's run that outlasts a day queues the next instead of overlapping it.
            concurrency_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE
            ),
            entrypoint_type=module,
        ),
        serve_batch.to_deployment(
            name="serve-batch",
            description="Serve a JSONL file of OpenAI batch requests through the gateway (resumable).",
            tags=["genai", "batch"],
            entrypoint_type=module,
        ),
        promote.to_deployment(
            name="promote",
            description="Promote a model's challenger (or a version) to champion if it passes the gates.",
            tags=["genai", "promotion"],
            entrypoint_type=module,
        ),
        cost_report.to_deployment(
            name="cost-report",
            description="A period's cost report from the usage ledger (artifacts, chart, CSV, alerts).",
            tags=["genai", "reports"],
            entrypoint_type=module,
        ),
        cost_report.to_deployment(
            name="cost-report-daily",
            description="Daily: yesterday's cost report and budget alerts.",
            tags=["genai", "reports", "scheduled"],
            cron=COST_DAILY_CRON,
            parameters={"period": "previous-day"},
            concurrency_limit=one_at_a_time,
            entrypoint_type=module,
        ),
        cost_report.to_deployment(
            name="cost-report-weekly",
            description="Weekly (Mondays): last week's cost report and budget alerts.",
            tags=["genai", "reports", "scheduled"],
            cron=COST_WEEKLY_CRON,
            parameters={"period": "previous-week"},
            concurrency_limit=one_at_a_time,
            entrypoint_type=module,
        ),
    ]
