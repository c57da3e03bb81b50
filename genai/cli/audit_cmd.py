"""`genai audit verify` and `genai audit list`: the gateway's hash-chained audit log checked and read."""

from __future__ import annotations

import json

import typer

from genai.cli.errors import fail, load_settings

app = typer.Typer(help="Check and read the gateway's audit log.", no_args_is_help=True)


@app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Check the whole hash chain; exit 1 and name the first broken entry when it does not hold."""
    from sqlalchemy.exc import SQLAlchemyError

    from genai.accounting.audit import verify_chain

    settings = load_settings()
    try:
        report = verify_chain(settings.sql_url)
    except SQLAlchemyError as error:
        fail(f"could not read the audit log: {str(error).splitlines()[0]}", code=1)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    elif report.ok:
        head = f"; head: seq {report.head_seq}, hash {report.head_hash}" if report.head_seq else ""
        typer.echo(f"audit chain intact: {report.entries} entries{head}")
    else:
        broken = report.broken
        assert broken is not None
        typer.secho(
            f"audit chain BROKEN at seq {broken.seq} ({broken.problem}): {broken.detail}; "
            f"expected {broken.expected}, found {broken.found}; {report.entries} entries before it verify",
            err=True,
            fg=typer.colors.RED,
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("list")
def list_entries(
    since: str | None = typer.Option(None, "--since", help="A duration back (30m, 1h, 7d) or a date."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000, help="At most this many entries."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List audit entries, newest first: who did what, and the decision (content stays encrypted)."""
    from sqlalchemy.exc import SQLAlchemyError

    from genai.accounting.audit import list_entries as query
    from genai.accounting.usage import parse_since

    settings = load_settings()
    try:
        start = parse_since(since) if since else None
    except ValueError as error:
        fail(str(error))
    try:
        entries = query(settings.sql_url, since=start, tenant=tenant, limit=limit)
    except SQLAlchemyError as error:
        fail(f"could not read the audit log: {str(error).splitlines()[0]}", code=1)
    if as_json:
        typer.echo(json.dumps([entry.model_dump(mode="json") for entry in entries], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(entries)} audit entr{'y' if len(entries) == 1 else 'ies'}")
    for column in ("seq", "when", "actor", "tenant", "route", "model", "decision", "status", "reason"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            str(entry.seq),
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.tenant or "",
            entry.route,
            entry.model or "",
            entry.decision,
            str(entry.status),
            entry.reason or "",
        )
    Console().print(table)
