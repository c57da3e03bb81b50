"""`genai config show`: the effective settings, secrets masked."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import typer

app = typer.Typer(help="Inspect the platform's settings.", no_args_is_help=True)

_SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey")


def mask_url(url: str) -> str:
    """Hide the password in a URL such as postgresql+psycopg://user:pw@host/db."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def mask_secrets(data: Any, key: str = "") -> Any:
    """Walk plain settings data, masking secret-looking keys and passwords inside URLs."""
    if isinstance(data, dict):
        return {k: mask_secrets(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(v, key) for v in data]
    if isinstance(data, str):
        if data and any(marker in key.lower() for marker in _SECRET_KEYS):
            return "****"
        if "://" in data:
            return mask_url(data)
    return data


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML.")) -> None:
    """Print the effective settings (defaults, YAML file and GENAI_* variables merged), secrets masked."""
    from pydantic import ValidationError

    from genai.settings import Settings

    try:
        settings = Settings()
    except ValidationError as error:
        typer.echo(f"error: the settings are invalid:\n{error}", err=True)
        raise typer.Exit(2) from None
    data = mask_secrets(settings.model_dump(mode="json"))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    import yaml

    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
