"""`genai config show`: the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer

from genai.settings.masking import mask_secrets

app = typer.Typer(help="Inspect the platform's settings.", no_args_is_help=True)


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
