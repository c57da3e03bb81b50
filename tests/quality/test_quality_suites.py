"""The Great Expectations suites on documents and chunks: which rows fail which check, and why."""

from __future__ import annotations

from genai.ingest.records import Chunk, ParsedDocument
from genai.quality.chunks_suite import validate_chunks
from genai.quality.documents_suite import validate_documents
from genai.quality.gx_runner import merge_failures
from genai.settings import ChunkingSettings, IngestSettings


def doc(doc_id: str, text: str = "Some text.", **fields: object) -> ParsedDocument:
    values: dict[str, object] = {
        "doc_id": doc_id,
        "source": doc_id,
        "title": doc_id,
        "type": "text",
        "size_bytes": max(1, len(text)),
        "text": text,
    }
    values.update(fields)
    return ParsedDocument.model_validate(values)


def test_good_documents_pass() -> None:
    outcome, failed = validate_documents([doc("a.txt"), doc("b.md", type="markdown")], IngestSettings())
    assert outcome.success and failed == {}
    assert outcome.evaluated == 6


def test_each_failing_document_gets_its_checks_and_reasons() -> None:
    settings = IngestSettings(max_document_bytes=1000, allowed_types=["text", "markdown"])
    docs = [
        doc("ok.txt"),
        doc("broken.pdf", "", type="pdf", size_bytes=10, parse_error="corrupted PDF: no trailer"),
        doc("binary.txt", "", decodable=False, size_bytes=50),
        doc("huge.txt", "x", size_bytes=5000),
        doc("blank.md", "   ", type="markdown", size_bytes=3),
    ]
    outcome, failed = validate_documents(docs, settings)

    assert set(failed) == {"broken.pdf", "binary.txt", "huge.txt", "blank.md"}
    assert failed["broken.pdf"][0] == ("parsed", "corrupted PDF: no trailer")
    assert "allowed_type" in [check for check, _ in failed["broken.pdf"]]
    assert failed["binary.txt"][0][0] == "decodable_text"
    assert failed["huge.txt"] == [
        (
            "size_within_bounds",
            "the file is 5,000 bytes, over the 1,000-byte limit (ingest.max_document_bytes)",
        )
    ]
    assert failed["blank.md"][0][0] == "non_empty_text"
    assert outcome.failed_checks == [
        "parsed",
        "decodable_text",
        "allowed_type",
        "size_within_bounds",
        "non_empty_text",
    ]


def test_checks_that_only_follow_from_a_parse_failure_are_not_reported_again() -> None:
    docs = [
        doc("broken.pdf", "", type="pdf", size_bytes=10, parse_error="corrupted PDF: no trailer"),
        doc("empty.md", "", type="markdown", size_bytes=0, parse_error="empty file: it has 0 bytes"),
        doc("blob.txt", "", decodable=False, size_bytes=9, parse_error="binary content: NUL byte at 3"),
    ]
    outcome, failed = validate_documents(docs, IngestSettings())

    assert failed == {
        "broken.pdf": [("parsed", "corrupted PDF: no trailer")],
        "empty.md": [("parsed", "empty file: it has 0 bytes")],
        "blob.txt": [("parsed", "binary content: NUL byte at 3")],
    }
    # The suite's own verdict still names every check that failed.
    assert {"decodable_text", "size_within_bounds", "non_empty_text"} <= set(outcome.failed_checks)


def test_a_quarantine_entry_names_each_failed_check_and_each_reason_once() -> None:
    pairs = [
        ("allowed_type", "type 'pdf' is not allowed"),
        ("unique_doc_id", "another document has doc_id 'x'"),
        *[("non_empty_chunk", f"chunk {n} has no text") for n in range(5)],
        ("allowed_type", "type 'pdf' is not allowed"),
    ]
    checks, reason = merge_failures(pairs)
    assert checks == "allowed_type, unique_doc_id, non_empty_chunk"
    assert reason.count("type 'pdf' is not allowed") == 1
    assert "chunk 2 has no text; and 2 more like it" in reason and "chunk 3" not in reason


def test_duplicate_doc_ids_fail_uniqueness() -> None:
    _, failed = validate_documents([doc("same"), doc("same"), doc("other")], IngestSettings())
    assert set(failed) == {"same"} and failed["same"][0][0] == "unique_doc_id"


def chunk(doc_id: str, chunk_no: int, tokens: int = 10, text: str = "words") -> Chunk:
    return Chunk(doc_id=doc_id, chunk_no=chunk_no, text=text, start=0, end=len(text), token_count=tokens)


def test_chunk_suite_flags_documents_with_bad_chunks() -> None:
    settings = ChunkingSettings(chunk_tokens=100, overlap_tokens=10)
    chunks = [
        chunk("good", 0),
        chunk("good", 1),
        chunk("long", 0, tokens=101),
        chunk("empty", 0, text=" "),
        chunk("twice", 0),
        chunk("twice", 0),
    ]
    outcome, failed = validate_chunks(chunks, settings)
    assert set(failed) == {"long", "empty", "twice"}
    assert failed["long"] == [
        ("token_count_within_bounds", "chunk 0 has 101 tokens, outside [1, 100] (chunking settings)")
    ]
    assert failed["empty"][0][0] == "non_empty_chunk"
    assert failed["twice"] == [("unique_chunk_number", "chunk number 0 appears twice")]
    assert not outcome.success


def test_empty_batches_pass_without_running_the_suite() -> None:
    outcome, failed = validate_chunks([], ChunkingSettings())
    assert outcome.success and failed == {}
