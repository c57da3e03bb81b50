"""`genai report cost --period 2026-11 [--tenant T] [--json] [--csv FILE]`: the cost report of a period,
printed as tables (or JSON), computed directly from the ledger by the same plain functions the flow uses.

The command reads; it sends no budget alerts and publishes no artifacts (the ``cost-report`` flow and its
daily and weekly deployments do). The ledger suite runs first unless ``--no-checks``; its failures are
printed above the numbers, never hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from genai.reports.model import CostReport, EvalAccuracy
    from genai.reports.periods import Period
    from genai.settings import Settings

app = typer.Typer(help="Cost reports from the gateway's usage ledger.", no_args_is_help=True)


@app.command("cost")
def cost(
    period: str = typer.Option(
        "current-month",
        "--period",
        help="2026-11, 2026-W47, 2026-11-30, previous-month|week|day, current-...",
    ),
    tenants: list[str] = typer.Option([], "--tenant", help="Only this tenant (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Also write the breakdowns to this CSV file."),
    checks: bool = typer.Option(True, "--checks/--no-checks", help="Run the ledger suite first."),
    registry: bool = typer.Option(
        True, "--registry/--no-registry", help="Read the latest evaluations (cost per correct answer)."
    ),
) -> None:
    """Totals, change, budgets, forecast and breakdowns of a period's spend."""
    from sqlalchemy.exc import SQLAlchemyError

    from genai.reports.periods import PeriodError, parse_period

    settings = load_settings()
    try:
        chosen = parse_period(period)
    except PeriodError as error:
        fail(str(error))
    try:
        report = _report(settings, chosen, sorted(set(tenants)), checks, registry)
    except SQLAlchemyError as error:
        fail(f"could not read the usage ledger: {str(error).splitlines()[0]}", code=1)
    if csv_file is not None:
        from genai.reports.export import write_csv

        try:
            write_csv(report, csv_file)
        except OSError as error:
            fail(f"could not write {csv_file}: {error}", code=1)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    _print(report, settings.reports.top_n, csv_file)


def _report(
    settings: Settings, period: Period, tenants: list[str], checks: bool, registry: bool
) -> CostReport:
    from genai.reports.build import build_report

    accuracy: dict[str, EvalAccuracy] = {}
    registered: list[str] = []
    if registry:
        from registry.eval_accuracy import read_registry

        accuracy, registered = read_registry(settings)
    report = build_report(
        settings.sql_url,
        period,
        reports=settings.reports,
        budget_kind=settings.limits.budget_period,
        tenant_budgets={n: t.budget_usd for n, t in settings.tenants.items() if t.budget_usd is not None},
        accuracy=accuracy,
        tenants=tenants,
    )
    if checks:
        report.quality_failures = _checks(settings, period, registered)
    return report


def _checks(settings: Settings, period: Period, registered: list[str]) -> list[str]:
    from genai.db import get_engine
    from genai.quality.ledger_suite import check_ledger
    from genai.reports.aggregate import Scope
    from genai.reports.extract import ledger_extract
    from registry.eval_accuracy import known_models

    reports = settings.reports
    known = known_models(settings, registered)
    with get_engine(settings.sql_url).connect() as connection:
        scope = Scope(period.start, period.end)
        frame = ledger_extract(connection, scope, reports.busy_requests_per_hour, known)
    return check_ledger(frame, gap_seconds=reports.gap_seconds)[1]


def _print(report: CostReport, top: int, csv_file: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from genai.reports.render import pct, usd

    console = Console()
    for failure in report.quality_failures:
        console.print(f"[red]ledger check failed[/red]: {failure}")
    t, f = report.totals, report.forecast
    totals = Table(title=f"Cost report {report.period} ({report.kind})", show_header=False)
    totals.add_row("cost", f"{usd(t.cost_usd)} ({pct(report.change_pct)} vs {report.previous_period})")
    totals.add_row(
        "requests", f"{t.requests:,} ({t.unpriced_requests:,} of unknown cost, {t.errors:,} errors)"
    )
    totals.add_row(
        "tokens in/out/cached", f"{t.prompt_tokens:,} / {t.completion_tokens:,} / {t.cached_tokens:,}"
    )
    totals.add_row("cost p50 / p95", f"{usd(report.cost_p50_usd, 6)} / {usd(report.cost_p95_usd, 6)}")
    totals.add_row("retries / errors", f"{usd(t.retry_cost_usd)} / {usd(t.error_cost_usd)}")
    totals.add_row("cache savings", f"{usd(t.saved_cost_usd)} ({t.saved_tokens:,} tokens)")
    totals.add_row(f"forecast {f.month}", f"{usd(f.forecast_usd)} (linear from the daily run rate)")
    console.print(totals)
    for dimension in ("tenant", "model", "version"):
        table = Table(title=f"by {dimension}")
        for column in (dimension, "requests", "cost", "previous", "change", "unpriced"):
            table.add_column(column)
        for g in report.breakdowns[dimension][:top]:
            row = [g.value or "(none)", f"{g.requests:,}", usd(g.cost_usd), usd(g.previous_cost_usd)]
            table.add_row(*row, pct(g.change_pct), str(g.unpriced))
        console.print(table)
    if report.budgets:
        budgets = Table(title="budgets")
        for column in ("scope", "name", "period", "spent", "budget", "used", "forecast"):
            budgets.add_column(column)
        for b in report.budgets:
            row = [b.scope, b.name, b.budget_period, usd(b.spent_usd), usd(b.budget_usd, 2)]
            budgets.add_row(*row, f"{b.percent:.1f}%", usd(b.forecast_usd))
        console.print(budgets)
    for line in report.unpriced:
        console.print(f"[yellow]unknown cost[/yellow]: {line.value}: {line.requests:,} request(s)")
    if csv_file is not None:
        console.print(f"CSV written to {csv_file}")
