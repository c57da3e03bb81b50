"""How the CLI reports a problem: one line that says what to fix, and a non-zero exit, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from genai.settings import Settings


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``: 2 for bad input, 1 for a failed run."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings, or a clear message about what in them is invalid."""
    from pydantic import ValidationError

    from genai.settings import get_settings

    try:
        return get_settings()
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        fail(f"the settings are invalid ({details})")
