"""`genai ingest PATH --kb NAME`: run the ingestion flow with a progress bar, then print its summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from genai.ingest.request import IngestRequest
    from genai.ingest.summary import IngestSummary


def ingest(
    path: Path = typer.Argument(..., help="Folder (read recursively) or file to ingest."),
    kb: str = typer.Option(..., "--kb", help="Knowledge base to ingest into."),
    include: list[str] = typer.Option([], "--include", help="Glob to include (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Glob to leave out (repeatable)."),
    keep_deleted: bool = typer.Option(False, "--keep-deleted", help="Keep documents gone from the source."),
    chunk_tokens: int | None = typer.Option(
        None, "--chunk-tokens", min=16, max=8192, help="Most tokens per chunk; default chunking.chunk_tokens."
    ),
    overlap_tokens: int | None = typer.Option(
        None, "--overlap-tokens", min=0, help="Tokens shared by neighbours; default chunking.overlap_tokens."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Ingest documents into a knowledge base: parse, check, chunk, embed and index what changed."""
    from pydantic import ValidationError

    from genai.ingest.request import IngestRequest

    if not path.exists():
        fail(f"{path} does not exist; give a folder or a file to ingest")
    settings = load_settings()
    try:
        request = IngestRequest(
            source=str(path.resolve()),
            knowledge_base=kb,
            include=include,
            exclude=exclude,
            keep_deleted=keep_deleted,
            **{
                name: value
                for name, value in {"chunk_tokens": chunk_tokens, "overlap_tokens": overlap_tokens}.items()
                if value is not None  # unset: the platform settings
            },
        )
    except ValidationError as error:
        fail("; ".join(_option_error(e) for e in error.errors()))
    from genai.orchestration.prefect_env import configure_prefect

    configure_prefect(settings, quiet=True)
    summary = _run_with_progress(request)
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json"), indent=2))
    else:
        _print_summary(summary)


_OPTIONS = {"knowledge_base": "--kb", "source": "PATH"}


def _option_error(error: Any) -> str:
    """One validation error as the command line spells it: the option, then the rule's own sentence."""
    field = str(error["loc"][0])
    option = _OPTIONS.get(field, "--" + field.replace("_", "-"))
    cause = error.get("ctx", {}).get("error")
    return f"{option}: {cause if cause is not None else error['msg']}"


def _run_with_progress(request: IngestRequest) -> IngestSummary:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from flows.ingest import ingest as ingest_flow
    from genai.ingest.progress import listening

    columns = (TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # The bar goes to stderr so that --json output on stdout stays machine-readable.
    with Progress(*columns, transient=True, console=Console(stderr=True)) as progress:
        bars: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done, total=total)

        with listening(on_progress):
            try:
                return ingest_flow(**request.model_dump())
            except Exception as error:  # the flow's own log already holds the details
                progress.stop()
                fail(f"ingestion failed: {error}", code=1)


def _print_summary(summary: IngestSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ingested {summary.source} into {summary.kb}", show_header=True)
    for name in ("seen", "new", "changed", "unchanged", "deleted", "quarantined", "chunks", "tokens"):
        table.add_column(name, justify="right")
    table.add_row(
        *(
            str(getattr(summary, name))
            for name in ("seen", "new", "changed", "unchanged", "deleted", "quarantined", "chunks", "tokens")
        )
    )
    console = Console()
    console.print(table)
    stages = ", ".join(f"{stage} {secs:.1f}s" for stage, secs in summary.seconds.items())
    rate = f"; embedding {summary.embed_rate} chunks/s" if summary.embed_rate else ""
    console.print(f"{summary.total_chunks} chunks in {summary.kb}; {stages}{rate}")
    if summary.quarantined:
        console.print(
            f"[yellow]{summary.quarantined} quarantined:[/] genai quarantine list --kb {summary.kb}"
        )
