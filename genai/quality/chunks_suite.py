"""The chunk quality suite: every chunk is non-empty, within the token bounds, and uniquely numbered.

A document with any failing chunk is quarantined whole, so the stores never hold half a document.
"""

from __future__ import annotations

from collections.abc import Sequence

from genai.ingest.records import Chunk
from genai.quality.gx_runner import Expectation, SuiteOutcome, failures_by_doc, run_suite
from genai.settings import ChunkingSettings

SUITE_NAME = "chunks"


def chunk_expectations(settings: ChunkingSettings) -> list[Expectation]:
    """The suite, in the order failures are reported."""
    return [
        Expectation(
            "non_empty_chunk", "ExpectColumnValuesToBeBetween", {"column": "text_chars", "min_value": 1}
        ),
        Expectation(
            "token_count_within_bounds",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "token_count",
                "min_value": settings.min_chunk_tokens,
                "max_value": settings.chunk_tokens,
            },
        ),
        Expectation(
            "unique_chunk_number", "ExpectCompoundColumnsToBeUnique", {"column_list": ["doc_id", "chunk_no"]}
        ),
    ]


def explain(check: str, chunk: Chunk, settings: ChunkingSettings) -> str:
    """Why ``chunk`` failed ``check``."""
    if check == "non_empty_chunk":
        return f"chunk {chunk.chunk_no} has no text"
    if check == "token_count_within_bounds":
        return (
            f"chunk {chunk.chunk_no} has {chunk.token_count} tokens, outside "
            f"[{settings.min_chunk_tokens}, {settings.chunk_tokens}] (chunking settings)"
        )
    if check == "unique_chunk_number":
        return f"chunk number {chunk.chunk_no} appears twice"
    return check


def validate_chunks(
    chunks: Sequence[Chunk], settings: ChunkingSettings
) -> tuple[SuiteOutcome, dict[str, list[tuple[str, str]]]]:
    """Run the suite; returns the outcome and, per failing doc_id, its (check, reason) pairs."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "doc_id": [c.doc_id for c in chunks],
            "chunk_no": [c.chunk_no for c in chunks],
            "token_count": [c.token_count for c in chunks],
            "text_chars": [len(c.text.strip()) for c in chunks],
        }
    )
    outcome = run_suite(SUITE_NAME, chunk_expectations(settings), frame)
    failed = failures_by_doc(
        outcome, chunks, lambda item: item.doc_id, lambda check, item: explain(check, item, settings)
    )
    return outcome, failed
