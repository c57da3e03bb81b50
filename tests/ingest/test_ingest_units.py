"""Plain functions of the ingestion pipeline: planning by content hash, the pipeline version, request
overrides, windows, the run summary and the sample corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from genai.demo.corpus import write_sample_corpus
from genai.ingest.plan import plan_changes
from genai.ingest.records import Chunk, ParsedDocument, StoredState
from genai.ingest.request import IngestRequest, effective_settings
from genai.ingest.stages import ChunkedWindow, windows
from genai.ingest.summary import RATE_MIN_CHUNKS, IngestSummary, QuarantinedFile
from genai.ingest.versioning import pipeline_version
from genai.settings import Settings


def doc(doc_id: str, content_hash: str) -> ParsedDocument:
    return ParsedDocument(
        doc_id=doc_id,
        source=doc_id,
        title=doc_id,
        type="text",
        size_bytes=1,
        text="x",
        content_hash=content_hash,
    )


def test_plan_sorts_documents_by_what_changed() -> None:
    stored = {
        "same": StoredState(content_hash="h1", pipeline_version="v"),
        "edited": StoredState(content_hash="old", pipeline_version="v"),
        "reversioned": StoredState(content_hash="h3", pipeline_version="older"),
        "gone": StoredState(content_hash="h4", pipeline_version="v"),
        "quarantined-now": StoredState(content_hash="h5", pipeline_version="v"),
    }
    accepted = [doc("same", "h1"), doc("edited", "new"), doc("reversioned", "h3"), doc("fresh", "h6")]
    present = [d.doc_id for d in accepted] + ["quarantined-now"]

    plan = plan_changes(accepted, stored, "v", present, keep_deleted=False)

    assert [d.doc_id for d in plan.new] == ["fresh"]
    assert [d.doc_id for d in plan.changed] == ["edited", "reversioned"]
    assert plan.unchanged == ["same"]
    assert plan.deleted == ["gone"]  # a document still present but quarantined keeps its last good version
    assert plan_changes(accepted, stored, "v", present, keep_deleted=True).deleted == []


def test_pipeline_version_follows_chunking_settings(settings: Settings) -> None:
    base = pipeline_version(settings.chunking, settings.embedding)
    assert base == pipeline_version(settings.chunking, settings.embedding) and base.startswith("v")
    resized = effective_settings(settings, IngestRequest(source=".", knowledge_base="x", chunk_tokens=128))
    assert pipeline_version(resized.chunking, resized.embedding) != base
    overlapped = effective_settings(settings, IngestRequest(source=".", knowledge_base="x", overlap_tokens=0))
    assert pipeline_version(overlapped.chunking, overlapped.embedding) != base


def test_request_validates_names_and_overrides(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="lowercase"):
        IngestRequest(source=".", knowledge_base="Has Spaces")
    with pytest.raises(ValidationError, match="overlap_tokens"):
        effective_settings(
            settings, IngestRequest(source=".", knowledge_base="ok", chunk_tokens=64, overlap_tokens=40)
        )
    applied = effective_settings(settings, IngestRequest(source=".", knowledge_base="ok", keep_deleted=True))
    assert applied.ingest.keep_deleted and not settings.ingest.keep_deleted


def test_windows_cut_at_document_boundaries() -> None:
    batch = ChunkedWindow()
    for n, count in enumerate([3, 3, 1, 5, 2]):
        batch.docs.append(doc(f"d{n}", "h"))
        batch.chunks[f"d{n}"] = [
            Chunk(doc_id=f"d{n}", chunk_no=i, text="t", start=0, end=1, token_count=1) for i in range(count)
        ]
    cut = list(windows(batch, max_chunks=4))
    assert [[d.doc_id for d in w.docs] for w in cut] == [["d0", "d1"], ["d2", "d3"], ["d4"]]
    assert sum(w.chunk_count for w in cut) == 14


def test_summary_renders_counts_and_stages() -> None:
    summary = IngestSummary(
        run_id="r",
        kb="kb",
        source="/src",
        pipeline_version="v1-x",
        seen=5,
        new=3,
        unchanged=1,
        quarantined=1,
        chunks=30,
        tokens=3000,
        seconds={"parse": 0.5, "embed": 1.5},
    )
    summary.quarantined_files = [
        QuarantinedFile(source="scans/a|b.pdf", check="parsed", reason="encrypted PDF: no password given")
    ]
    markdown = summary.to_markdown()
    assert "| 5 | 3 | 0 | 1 | 0 | 1 | 30 | 3000 |" in markdown
    assert "genai quarantine list --kb kb" in markdown
    # A person who only has the Prefect UI sees which file, which check, and why.
    assert "| scans/a\\|b.pdf | parsed | encrypted PDF: no password given |" in markdown
    assert summary.quarantine_rows() == [
        {"source": "scans/a|b.pdf", "check": "parsed", "reason": "encrypted PDF: no password given"}
    ]
    rows = {row["measure"]: row["value"] for row in summary.count_rows()}
    assert rows["seconds.embed"] == 1.5 and rows["new"] == 3


def test_summary_shows_an_embedding_rate_only_for_runs_large_enough_to_measure_one() -> None:
    small = IngestSummary(
        run_id="r", kb="kb", source="/s", pipeline_version="v", chunks=6, seconds={"model": 6.0, "embed": 0.2}
    )
    assert small.embed_rate is None and "chunks/s" not in small.to_markdown()
    large = small.model_copy(update={"chunks": RATE_MIN_CHUNKS * 2, "seconds": {"model": 6.0, "embed": 4.0}})
    assert large.embed_rate == RATE_MIN_CHUNKS * 2 / 4.0  # the model's load is not in it
    assert f"embedding {large.embed_rate} chunks/s" in large.to_markdown()


def test_sample_corpus_is_written_from_the_code_itself(tmp_path: Path) -> None:
    files = write_sample_corpus(tmp_path / "kb")
    names = {f.name for f in files}
    assert {"modules-genai.md", "modules-flows.md", "modules-tasks.md"} <= names
    genai_page = (tmp_path / "kb" / "modules-genai.md").read_text()
    assert "## genai.ingest.plan" in genai_page and "content hash" in genai_page
    write_sample_corpus(tmp_path / "kb")  # idempotent: rewrites rather than piling up
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == sorted(names)


def test_chunk_token_ids_give_the_same_vectors_as_the_text(settings: Settings, tmp_path: Path) -> None:
    """The GPU path embeds the chunker's token ids instead of re-tokenizing; it must be the same embedding."""
    import numpy as np

    from genai.embedding.tokenizer import load_tokenizer
    from genai.ingest import stages
    from genai.ingest.chunking import chunk_document
    from tests.fixtures.documents import write_good_corpus

    write_good_corpus(tmp_path / "corpus")
    docs = stages.load_documents(
        IngestRequest(source=str(tmp_path / "corpus"), knowledge_base="ids"), settings.ingest
    )
    tokenizer = load_tokenizer(settings.embedding.model)
    chunks = [c for d in docs for c in chunk_document(d, tokenizer, settings.chunking, keep_token_ids=True)]
    for c in chunks:
        assert c.token_ids == tokenizer.encode(c.text, add_special_tokens=False).ids
        assert "token_ids" not in c.model_dump()  # never stored
    from_ids = stages.embed_chunks(chunks, settings.embedding)
    from_text = stages.embed_chunks(
        [c.model_copy(update={"token_ids": None}) for c in chunks], settings.embedding
    )
    assert np.min(np.sum(from_ids * from_text, axis=1)) > 0.9999
