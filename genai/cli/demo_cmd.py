"""`genai demo`: ingest the sample knowledge base on the embedded defaults and answer a search."""

from __future__ import annotations

from pathlib import Path

import typer

from genai.cli.errors import load_settings

DEMO_KB = "platform-docs"
DEMO_QUESTION = "How does ingestion skip documents that did not change?"


def demo(
    question: str = typer.Option(DEMO_QUESTION, "--question", help="What to ask the knowledge base."),
) -> None:
    """Write the sample corpus, ingest it into the 'platform-docs' knowledge base, and search it."""
    from genai.demo.corpus import write_sample_corpus

    settings = load_settings()
    corpus = settings.home / "sample-kb"
    checkout = Path.cwd() if (Path.cwd() / "pyproject.toml").exists() else None
    files = write_sample_corpus(corpus, checkout)
    typer.echo(f"wrote {len(files)} sample documents to {corpus}")
    from genai.cli.ingest_cmd import ingest
    from genai.cli.search_cmd import search

    ingest(
        path=corpus,
        kb=DEMO_KB,
        include=[],
        exclude=[],
        keep_deleted=False,
        chunk_tokens=None,
        overlap_tokens=None,
        as_json=False,
    )
    typer.echo("")
    search(query=question, kb=DEMO_KB, k=3, filters=[], as_json=False)
