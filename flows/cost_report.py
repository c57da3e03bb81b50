"""The cost report flow: the ledger of one period, checked, summed in SQL, published, and budget alerts.

what the registry knows (latest evaluations, registered names) -> the ledger suite on the period's
extract (a failure is reported in the artifact, not hidden) -> the report (totals, change against the
previous period and the budgets, forecast to the month's end, breakdowns, unit costs, top lists, retries,
errors, cache savings, GPU shares, unpriced models) -> chart, CSV, markdown and JSON in the report folder,
markdown and table artifacts under ``cost-report-<kind>`` -> a Prefect event and the optional webhook for
each budget threshold (50, 80, 100% by default) a tenant reached, once per threshold per budget period.

Run it from the Prefect UI (deployments ``cost-report``, ``cost-report-daily``, ``cost-report-weekly``),
through the Prefect REST API, with ``genai report cost --flow``, or by calling
``cost_report(period="2026-11")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from prefect import flow, get_run_logger
from pydantic import AfterValidator, Field, WithJsonSchema

from genai.reports.periods import HELP, parse_period
from genai.settings import get_settings
from registry.eval_accuracy import known_models
from tasks import cost_report as steps


def ui_field(title: str, description: str, **schema: Any) -> Any:
    """Title and description as the Prefect UI shows them (see flows/evaluate.py)."""
    return Field(json_schema_extra={"title": title, "description": description, **schema})


def _period(value: str) -> str:
    parse_period(value)  # PeriodError (a ValueError) says which forms are accepted
    return value


PeriodText = Annotated[str, AfterValidator(_period), ui_field("Period", f"The period to report: {HELP}.")]
Tenants = Annotated[
    Sequence[str], ui_field("Tenants", "Only these tenants. Empty: every tenant.", items={"type": "string"})
]
WebhookUrl = Annotated[
    str | None,
    WithJsonSchema({"type": "string"}),
    ui_field("Webhook URL", "POST budget alerts here. Empty: reports.webhook_url (none: events only)."),
]
Alerts = Annotated[bool, ui_field("Alerts", "Send budget alerts (events, webhook) for thresholds reached.")]


@flow(name="cost_report", log_prints=True)  # flows/NAME.py:NAME, as every flow
def cost_report(
    period: PeriodText = "previous-day",
    tenants: Tenants = (),
    webhook_url: WebhookUrl = "",
    alerts: Alerts = True,
) -> dict[str, Any]:
    """Report the ledger's costs for ``period``; returns the report (as JSON) and the alerts sent."""
    settings = get_settings()
    logger = get_run_logger()
    chosen = parse_period(period)
    names = sorted(set(tenants))
    accuracy, registered = steps.registry_facts(settings)
    failures = steps.check_ledger(settings, chosen, known_models(settings, registered))
    for failure in failures:
        logger.warning("ledger check failed: %s", failure)
    report = steps.build(settings, chosen, names, accuracy)
    report.quality_failures = failures
    report = steps.publish(report, settings)
    sent = steps.send_alerts(report, settings, webhook_url or settings.reports.webhook_url) if alerts else []
    logger.info(
        "cost report %s: $%.4f over %d requests (%s); %d alert(s) sent",
        report.period,
        report.totals.cost_usd,
        report.totals.requests,
        "checks passed" if not failures else f"{len(failures)} check(s) failed",
        len(sent),
    )
    return {"report": report.model_dump(mode="json"), "alerts": sent}
