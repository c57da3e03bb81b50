"""`genai search --kb NAME "query"`: the chunks that best answer a query, with citations. ``--mode`` picks
dense, sparse or hybrid search (default: the knowledge base's configured mode); ``--documents`` lists
documents instead of chunks, each cited by its best chunk."""

from __future__ import annotations

import json

import typer

from genai.cli.errors import fail, load_settings


def _parse_filters(filters: list[str]) -> dict[str, str]:
    parsed = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--filter takes KEY=VALUE (e.g. source=guide.md), got {item!r}")
        parsed[key] = value
    return parsed


def search(
    query: str = typer.Argument(..., help="What to look for."),
    kb: str = typer.Option(..., "--kb", help="Knowledge base to search."),
    k: int = typer.Option(5, "--k", "-k", min=1, max=100, help="How many chunks to return."),
    filters: list[str] = typer.Option([], "--filter", help="KEY=VALUE on chunk metadata (repeatable)."),
    mode: str | None = typer.Option(
        None, "--mode", help="dense, sparse or hybrid (default: the knowledge base's retrieval.mode)."
    ),
    documents: bool = typer.Option(
        False, "--documents", help="One result per document (its best chunk), k documents."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Search a knowledge base."""
    from genai.retrieval import UnknownKnowledgeBaseError
    from genai.retrieval import search as run_search
    from genai.retrieval.query import MODES

    if mode is not None and mode not in MODES:
        fail(f"--mode takes one of {', '.join(MODES)}, got {mode!r}")
    settings = load_settings()
    try:
        hits = run_search(
            kb,
            query,
            k,
            _parse_filters(filters) or None,
            settings=settings,
            mode=mode,  # checked against MODES above
            group_by_document=documents,
        )
    except (UnknownKnowledgeBaseError, ValueError) as error:
        fail(str(error).strip("'\""))
    if as_json:
        typer.echo(json.dumps([hit.model_dump(mode="json") for hit in hits], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(hits)} result(s) in {kb} for {query!r}", show_lines=True)
    table.add_column("score", justify="right")
    table.add_column("citation")
    table.add_column("text")
    for hit in hits:
        snippet = hit.text if len(hit.text) <= 300 else hit.text[:297] + "..."
        table.add_row(f"{hit.score:.3f}", hit.citation, snippet)
    Console().print(table)
