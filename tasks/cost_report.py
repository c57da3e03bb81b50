"""The cost report flow's tasks: what the registry knows (the latest evaluation of each version, the
registered names), the ledger suite, the report itself, its files and artifacts, and the budget alerts.

Each task is one coarse step calling plain functions of ``genai.reports`` (the kernel may not read the
registry, so the registry lookups live here). Caching is off: a report must read the ledger as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.reporting import artifact_key

if TYPE_CHECKING:
    from genai.reports.model import CostReport, EvalAccuracy
    from genai.reports.periods import Period
    from genai.settings import Settings


def report_key(kind: str, tenants: list[str], *suffix: str) -> str:
    """``cost-report-<kind>`` (a tenant filter adds its names), so the UI keeps each report's history."""
    return artifact_key("cost-report", kind, *(["tenants", *sorted(tenants)] if tenants else []), *suffix)


@task(name="registry-facts", cache_policy=NO_CACHE)
def registry_facts(settings: Settings) -> tuple[dict[str, EvalAccuracy], list[str]]:
    """The latest finished evaluation of each registered version (``NAME/N`` -> correct of n), and the
    registered model names; an unreadable registry gives neither (the report runs without cost per correct
    answer)."""
    from registry.eval_accuracy import read_registry

    return read_registry(settings)


@task(name="check-ledger", cache_policy=NO_CACHE)
def check_ledger(settings: Settings, period: Period, known: set[str]) -> list[str]:
    """The ledger suite on the period's extract (every tenant: a lost record is lost for all); its
    failures as sentences, empty when every check passed. A failure is reported, not raised."""
    from genai.db import get_engine
    from genai.quality.ledger_suite import check_ledger as run_checks
    from genai.reports.aggregate import Scope
    from genai.reports.extract import ledger_extract

    reports = settings.reports
    with get_engine(settings.sql_url).connect() as connection:
        scope = Scope(period.start, period.end)
        frame = ledger_extract(connection, scope, reports.busy_requests_per_hour, known)
    _, failures = run_checks(frame, gap_seconds=reports.gap_seconds)
    return failures


@task(name="build-cost-report", cache_policy=NO_CACHE)
def build(
    settings: Settings, period: Period, tenants: list[str], accuracy: dict[str, EvalAccuracy]
) -> CostReport:
    """The report's numbers, all computed by the database."""
    from genai.reports.build import build_report

    return build_report(
        settings.sql_url,
        period,
        reports=settings.reports,
        budget_kind=settings.limits.budget_period,
        tenant_budgets=tenant_budgets(settings),
        accuracy=accuracy,
        tenants=tenants,
    )


def tenant_budgets(settings: Settings) -> dict[str, float]:
    return {name: t.budget_usd for name, t in settings.tenants.items() if t.budget_usd is not None}


@task(name="publish-cost-report", cache_policy=NO_CACHE)
def publish(report: CostReport, settings: Settings) -> CostReport:
    """The files (chart, CSV, markdown, JSON) in the report folder, then the markdown and table
    artifacts under ``cost-report-<kind>`` keys; returns the report with its file paths."""
    from genai.reports.export import breakdown_rows
    from genai.reports.files import report_folder, write_report_files
    from genai.reports.render import to_markdown

    top = settings.reports.top_n
    folder = report_folder(settings.reports, settings.home, report.kind, report.period, report.tenants)
    written = write_report_files(report, folder, top)
    key = report_key(report.kind, report.tenants)
    create_markdown_artifact(
        to_markdown(written, top, written.files.get("chart")),
        key=key,
        description=f"Cost report {report.period}: totals, budgets, breakdowns, checks (files in {folder})",
    )
    create_table_artifact(
        breakdown_rows(written),
        key=report_key(report.kind, report.tenants, "table"),
        description=f"Cost report {report.period}: every breakdown, one row per value (also the CSV)",
    )
    return written


@task(name="send-budget-alerts", cache_policy=NO_CACHE)
def send_alerts(report: CostReport, settings: Settings, webhook_url: str | None) -> list[dict[str, Any]]:
    """A Prefect event (and a webhook POST when a URL is set) for each threshold a tenant budget reached
    that no run sent before in this budget period; what was sent, with the webhook's answer."""
    from prefect.events import emit_event

    from genai.reports.alerts import EVENT, claim, due_alerts, post_webhook, record_delivery

    reports = settings.reports
    due = due_alerts(report.budgets, reports.alert_thresholds, report.period)
    sent = []
    for alert in claim(settings.sql_url, due):
        resource = {
            "prefect.resource.id": f"genai.tenant.{alert.tenant}",
            "prefect.resource.name": alert.tenant,
        }
        emit_event(event=EVENT, resource=resource, payload=alert.payload())
        status = post_webhook(webhook_url, alert, reports.webhook_timeout_seconds) if webhook_url else None
        record_delivery(settings.sql_url, alert, EVENT, status)
        sent.append({**alert.payload(), "webhook_status": status})
    rows = sent or [{"tenant": None, "threshold_pct": None, "webhook_status": "no new alerts"}]
    create_table_artifact(
        rows,
        key=report_key(report.kind, report.tenants, "alerts"),
        description=f"Budget alerts sent by the cost report {report.period}",
    )
    return sent
