"""The document quality suite: what a parsed document must satisfy before it is chunked and embedded.

Failing documents are quarantined with every check they failed and a reason a person can act on; the rest
of the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

from genai.ingest.records import ParsedDocument
from genai.quality.gx_runner import Expectation, SuiteOutcome, failures_by_doc, run_suite
from genai.settings import IngestSettings

SUITE_NAME = "documents"


def document_expectations(settings: IngestSettings) -> list[Expectation]:
    """The suite, in the order failures are reported (the root cause first)."""
    return [
        Expectation("parsed", "ExpectColumnValuesToBeNull", {"column": "parse_error"}),
        Expectation(
            "decodable_text", "ExpectColumnValuesToBeInSet", {"column": "decodable", "value_set": [True]}
        ),
        Expectation(
            "allowed_type",
            "ExpectColumnValuesToBeInSet",
            {"column": "type", "value_set": sorted(settings.allowed_types)},
        ),
        Expectation(
            "size_within_bounds",
            "ExpectColumnValuesToBeBetween",
            {"column": "size_bytes", "min_value": 1, "max_value": settings.max_document_bytes},
        ),
        Expectation(
            "non_empty_text",
            "ExpectColumnValuesToBeBetween",
            {"column": "text_chars", "min_value": settings.min_text_chars},
        ),
        Expectation("unique_doc_id", "ExpectColumnValuesToBeUnique", {"column": "doc_id"}),
    ]


# A check that fails only because an earlier one did adds no information: the parser's own reason already
# says the file is binary, empty, too large or without text, and a document of a refused type has none.
FOLLOWS_FROM = {
    "decodable_text": {"parsed"},
    "size_within_bounds": {"parsed"},
    "non_empty_text": {"parsed", "decodable_text", "size_within_bounds", "allowed_type"},
}


def root_causes(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs whose check did not merely follow from another failed check of the same document."""
    failed = {check for check, _ in pairs}
    return [(check, reason) for check, reason in pairs if not FOLLOWS_FROM.get(check, set()) & failed]


def explain(check: str, doc: ParsedDocument, settings: IngestSettings) -> str:
    """A sentence saying what is wrong with ``doc`` for ``check`` and what would fix it."""
    if check == "parsed":
        return doc.parse_error or "the document could not be parsed"
    if check == "decodable_text":
        return "the file's bytes are not decodable text (binary content or an invalid encoding)"
    if check == "allowed_type":
        return f"type {doc.type!r} is not one of ingest.allowed_types {sorted(settings.allowed_types)}"
    if check == "size_within_bounds":
        if doc.size_bytes < 1:
            return "the file is empty (0 bytes)"
        return (
            f"the file is {doc.size_bytes:,} bytes, over the {settings.max_document_bytes:,}-byte limit "
            "(ingest.max_document_bytes)"
        )
    if check == "non_empty_text":
        return (
            f"no text left after parsing ({len(doc.text.strip())} characters; "
            f"ingest.min_text_chars is {settings.min_text_chars})"
        )
    if check == "unique_doc_id":
        return f"another document in this run has the same doc_id {doc.doc_id!r}"
    return check


def validate_documents(
    docs: Sequence[ParsedDocument], settings: IngestSettings
) -> tuple[SuiteOutcome, dict[str, list[tuple[str, str]]]]:
    """Run the suite; returns the outcome and, per failing doc_id, the (check, reason) pairs of its root
    causes (``outcome`` still counts every check that failed)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "doc_id": [d.doc_id for d in docs],
            "type": [d.type for d in docs],
            "size_bytes": [d.size_bytes for d in docs],
            "text_chars": [len(d.text.strip()) for d in docs],
            "decodable": [d.decodable for d in docs],
            "parse_error": [d.parse_error for d in docs],
        }
    )
    outcome = run_suite(SUITE_NAME, document_expectations(settings), frame)
    failed = failures_by_doc(
        outcome, docs, lambda item: item.doc_id, lambda check, item: explain(check, item, settings)
    )
    return outcome, {doc_id: root_causes(pairs) for doc_id, pairs in failed.items()}
