"""Typed records that move through the ingestion pipeline, from a file on disk to a stored chunk."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

DocumentType = Literal["markdown", "text", "html", "pdf", "docx", "unknown"]


class SourceFile(BaseModel):
    """A file found under the source folder, before it is read."""

    doc_id: str = Field(description="Stable id: the path relative to the source root, with '/' separators.")
    path: str = Field(description="Absolute path on disk.")
    source: str = Field(description="Path relative to the source root; what citations show.")
    type: DocumentType
    size_bytes: int
    modified: datetime | None = None
    error: str | None = Field(None, description="Why the file could not even be stat'ed or walked to.")


class ParsedDocument(BaseModel):
    """A document's text after parsing and normalization, or the reason it has none."""

    doc_id: str
    source: str
    title: str
    type: DocumentType
    size_bytes: int
    modified: datetime | None = None
    text: str = ""
    content_hash: str = ""
    pages: int | None = None
    parse_error: str | None = Field(None, description="Why parsing failed; the quality suite quarantines it.")
    decodable: bool = True


class Chunk(BaseModel):
    """A piece of one document, sized in the embedding model's tokens."""

    doc_id: str
    chunk_no: int = Field(ge=0)
    text: str
    start: int = Field(ge=0, description="Character offset of the chunk in the normalized document text.")
    end: int = Field(ge=0)
    token_count: int = Field(ge=0)
    heading_path: list[str] = Field(default_factory=list)
    token_ids: list[int] | None = Field(
        None, exclude=True, description="The chunk's token ids, kept only in memory for the embedding stage."
    )


class DocumentRecord(BaseModel):
    """What the document store keeps for one ingested document: metadata and the hash that makes re-runs
    incremental. Written last for a document, so its presence means the document's chunks are complete."""

    kb: str
    doc_id: str
    source: str
    title: str
    type: DocumentType
    size_bytes: int
    modified: datetime | None = None
    content_hash: str
    pipeline_version: str
    chunk_count: int
    token_count: int
    ingested_at: datetime


class StoredState(BaseModel):
    """The two values that decide whether a stored document must be re-embedded."""

    content_hash: str
    pipeline_version: str


class QuarantineRecord(BaseModel):
    """A document the run could not accept, with the check that failed and why."""

    kb: str
    run_id: str
    doc_id: str
    source: str
    check: str = Field(
        description="The failed quality checks, comma-separated: 'parsed', 'allowed_type, unique_doc_id'."
    )
    reason: str = Field(description="A sentence a person can act on.")
    created_at: datetime


class ScoredChunk(BaseModel):
    """A search hit: a chunk, its similarity score and where it came from."""

    score: float
    doc_id: str
    chunk_no: int
    text: str
    source: str
    title: str
    heading_path: list[str] = Field(default_factory=list)
    start: int
    end: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def citation(self) -> str:
        """Where the text comes from, as ``source#chunk-N``."""
        return f"{self.source}#chunk-{self.chunk_no}"
