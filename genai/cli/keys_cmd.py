"""`genai keys ...`: create, list and revoke the gateway's API keys (the SQL database of the settings).

A key is printed once, when it is created: the database keeps only its hash and its prefix, which is what
`list` shows and `revoke` takes.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from genai.accesskeys import CreatedKey, KeyInfo

app = typer.Typer(help="The gateway's API keys: create (shown once), list, revoke.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d{1,5})([dh])$")


@contextlib.contextmanager
def key_errors() -> Iterator[None]:
    """A refused key (bad tenant, tier, prefix...) exits 2; a database that failed exits 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from genai.accesskeys import AccessKeyError

    try:
        yield
    except AccessKeyError as error:
        fail(str(error), code=2)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        fail(f"the key database could not be used ({type(error).__name__}: {reason})", code=1)


def parse_expiry(value: str) -> datetime:
    """``--expires``: an ISO date (the key works until that day starts, UTC), an ISO date and time (UTC
    unless it names an offset), or a duration from now: ``30d``, ``12h``."""
    text = value.strip()
    duration = _DURATION.match(text)
    if duration:
        amount, unit = int(duration.group(1)), duration.group(2)
        return datetime.now(UTC) + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"--expires {value!r} is not a date (2027-01-31), a date and time (2027-01-31T12:00) or 30d / 12h"
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def key_record(info: KeyInfo) -> dict[str, Any]:
    """A key as JSON: what `list --json` prints (never the key, which the database does not have)."""
    record = info.model_dump(mode="json")
    record["models"] = list(info.models) if info.models is not None else None
    record["status"] = info.status()
    return record


@app.command("create")
def create(
    tenant: str = typer.Option(..., "--tenant", help="The tenant the key belongs to."),
    tier: str = typer.Option("default", "--tier", help="A tier of limits.tiers (default, premium...)."),
    models: str | None = typer.Option(
        None, "--models", help="Comma-separated models it may use (default: all)."
    ),
    budget: float | None = typer.Option(None, "--budget", help="Spend in USD per limits.budget_period."),
    expires: str | None = typer.Option(None, "--expires", help="2027-01-31, 2027-01-31T12:00, 30d or 12h."),
    name: str = typer.Option("", "--name", help="What the key is for (shown by list)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the key included)."),
) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    from genai.accesskeys import create_key

    settings = load_settings()
    expires_at = parse_expiry(expires) if expires is not None else None
    allowed = models.split(",") if models is not None else None
    with key_errors():
        created = create_key(
            settings, tenant, tier=tier, models=allowed, budget_usd=budget, expires_at=expires_at, name=name
        )
    if as_json:
        typer.echo(json.dumps({"key": created.key, **key_record(created.info)}, indent=2))
        return
    typer.echo(created.key)
    typer.echo(describe(created), err=True)


def describe(created: CreatedKey) -> str:
    """What to tell whoever just got ``created`` (on stderr, so stdout is the key alone)."""
    info = created.info
    limits = [f"tenant {info.tenant}", f"tier {info.tier}"]
    if info.models is not None:
        limits.append("models " + ", ".join(info.models))
    if info.budget_usd is not None:
        limits.append(f"budget {info.budget_usd:g} USD")
    if info.expires_at is not None:
        limits.append(f"expires {info.expires_at.isoformat(timespec='seconds')}")
    return (
        f"API key {info.prefix}... created ({'; '.join(limits)}). It is shown only this once: store it now.\n"
        "Send it as 'Authorization: Bearer <key>' (OpenAI clients: api_key=<key>) or 'x-api-key: <key>'."
    )


@app.command("list")
def list_(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's keys."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the keys (prefix, tenant, tier, models, budget, dates, status), oldest first."""
    from genai.accesskeys import list_keys

    settings = load_settings()
    with key_errors():
        keys = list_keys(settings, tenant)
    if as_json:
        typer.echo(json.dumps([key_record(info) for info in keys], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(keys)} API key(s)")
    table.add_column("prefix", no_wrap=True, min_width=12)  # what `revoke` takes: never cut
    for column in ("tenant", "tier", "name", "models", "budget", "created", "expires", "status"):
        table.add_column(column)
    for info in keys:
        table.add_row(
            info.prefix,
            info.tenant,
            info.tier,
            info.name or "-",
            ", ".join(info.models) if info.models is not None else "all",
            f"{info.budget_usd:g}" if info.budget_usd is not None else "-",
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.expires_at:%Y-%m-%d %H:%M}" if info.expires_at else "-",
            info.status(),
        )
    Console().print(table)


@app.command("revoke")
def revoke(
    prefix: str = typer.Argument(..., help="The key's prefix, as `genai keys list` shows it."),
) -> None:
    """Revoke a key: the gateway refuses it within auth.key_cache_seconds."""
    from genai.accesskeys import revoke_key

    settings = load_settings()
    with key_errors():
        info, revoked_now = revoke_key(settings, prefix)
    if revoked_now:
        seconds = settings.auth.key_cache_seconds
        typer.echo(
            f"revoked {info.prefix}... (tenant {info.tenant}); gateways refuse it within {seconds:g} s"
        )
    else:
        assert info.revoked_at is not None
        typer.echo(f"{info.prefix}... was already revoked at {info.revoked_at.isoformat(timespec='seconds')}")
