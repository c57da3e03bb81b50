"""`genai usage list`: the gateway's usage ledger, newest first, with what the filter matched in total."""

from __future__ import annotations

import json

import typer

from genai.cli.errors import fail, load_settings

app = typer.Typer(help="Read the gateway's usage ledger.", no_args_is_help=True)


def _cost(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.6f}"


def _tokens(prompt: int | None, completion: int | None, cached: int | None) -> str:
    if prompt is None and completion is None:
        return ""
    text = f"{prompt or 0}/{completion or 0}"
    return f"{text} ({cached} cached)" if cached else text


@app.command("list")
def list_usage(
    since: str | None = typer.Option(None, "--since", help="A duration back (30m, 1h, 7d) or a date."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
    model: str | None = typer.Option(None, "--model", help="Only this model (the name clients asked for)."),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000, help="At most this many records."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the records and their totals."),
) -> None:
    """List usage records (one per gateway request) with tokens, latency and cost."""
    from sqlalchemy.exc import SQLAlchemyError

    from genai.accounting.usage import list_usage as query
    from genai.accounting.usage import parse_since, usage_totals

    settings = load_settings()
    try:
        start = parse_since(since) if since else None
    except ValueError as error:
        fail(str(error))
    try:
        records = query(settings.sql_url, since=start, tenant=tenant, model=model, limit=limit)
        totals = usage_totals(settings.sql_url, since=start, tenant=tenant, model=model)
    except SQLAlchemyError as error:
        fail(f"could not read the usage ledger: {str(error).splitlines()[0]}", code=1)
    if as_json:
        payload = {"records": [r.model_dump(mode="json") for r in records], "totals": totals.model_dump()}
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(records)} of {totals.requests} request(s)",
        caption=f"total {_cost(totals.cost_usd)} for {totals.prompt_tokens}/{totals.completion_tokens} "
        f"prompt/completion tokens; {totals.unpriced} unpriced",
    )
    for column in ("when", "request", "tenant", "caller", "model", "status", "tokens", "ms", "cost"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            record.request_id[:12],
            record.tenant or "",
            record.key_prefix or (record.subject or ""),
            record.model_version or record.model or record.route,
            str(record.status),
            _tokens(record.prompt_tokens, record.completion_tokens, record.cached_tokens),
            f"{record.latency_ms:.1f}",
            _cost(record.cost_usd),
        )
    Console().print(table)
