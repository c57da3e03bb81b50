"""`genai quarantine list`: the documents that the last run of each knowledge base refused, and why."""

from __future__ import annotations

import json

import typer

from genai.cli.errors import load_settings

app = typer.Typer(help="Inspect quarantined documents.", no_args_is_help=True)


@app.command("list")
def list_quarantined(
    kb: str | None = typer.Option(None, "--kb", help="Only this knowledge base."),
    history: bool = typer.Option(False, "--all", help="Every run's entries, not only the latest run's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List quarantined documents with the failed check and the reason."""
    from genai.stores.quarantine import QuarantineStore

    settings = load_settings()
    records = QuarantineStore(settings.sql_url).list(kb=kb, latest_only=not history)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(records)} quarantined document(s)")
    for column in ("kb", "source", "check", "reason", "when"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.kb,
            record.source,
            record.check,
            record.reason,
            record.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)
