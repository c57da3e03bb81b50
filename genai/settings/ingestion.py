"""Settings of the ingestion flow: what it reads, the document bounds it enforces, and how it chunks."""

from __future__ import annotations

from pydantic import Field, model_validator

from genai.settings.section import SettingsSection

PIPELINE_SCHEMA = "1"  # bump when the chunk or payload layout changes: every document is re-embedded


class ChunkingSettings(SettingsSection):
    """Token-aware chunking, counted with the embedding model's tokenizer."""

    chunk_tokens: int = Field(240, ge=16, le=8192, description="Most tokens in one chunk.")
    overlap_tokens: int = Field(32, ge=0, description="Tokens repeated from the end of the previous chunk.")
    min_chunk_tokens: int = Field(1, ge=1, description="Chunk quality: fewest tokens a chunk may hold.")

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> ChunkingSettings:
        if self.overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError("overlap_tokens must be less than half of chunk_tokens")
        return self


class IngestSettings(SettingsSection):
    """What the ingestion flow reads and the bounds its document quality suite enforces."""

    include: list[str] = Field(
        default_factory=lambda: [
            "**/*.md",
            "**/*.markdown",
            "**/*.txt",
            "**/*.html",
            "**/*.htm",
            "**/*.pdf",
            "**/*.docx",
        ]
    )
    exclude: list[str] = Field(default_factory=lambda: ["**/.git/**", "**/.genai/**", "**/.venv*/**"])
    allowed_types: list[str] = Field(default_factory=lambda: ["markdown", "text", "html", "pdf", "docx"])
    max_document_bytes: int = Field(20 * 1024 * 1024, ge=1)
    min_text_chars: int = Field(1, ge=1)
    keep_deleted: bool = Field(False, description="Keep chunks of documents gone from the source.")
    batch_documents: int = Field(256, ge=1, description="Documents parsed into chunks per task.")
    window_chunks: int = Field(
        1024, ge=1, description="Chunks embedded and written together; bigger windows pad less."
    )
