"""The ingestion flow's parameters: one pydantic model, which Prefect renders as the run form in its UI."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from genai.settings import ChunkingSettings, IngestSettings, Settings

KB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class IngestRequest(BaseModel):
    """What to ingest and into which knowledge base. Unset fields fall back to the platform settings."""

    source: str = Field(description="A folder (read recursively) or one file, where the flow runs.")
    kb: str = Field(description="Knowledge base name: lowercase letters, digits, '-' and '_'.")
    include: list[str] | None = Field(None, description="Glob patterns to include, e.g. ['**/*.md'].")
    exclude: list[str] | None = Field(None, description="Glob patterns to leave out, e.g. ['drafts/**'].")
    doc_ids: dict[str, str] | None = Field(
        None, description="Explicit document ids by source-relative path; others use their path."
    )
    keep_deleted: bool | None = Field(None, description="Keep documents that are gone from the source.")
    chunk_tokens: int | None = Field(None, ge=16, le=8192, description="Most tokens per chunk.")
    overlap_tokens: int | None = Field(None, ge=0, description="Tokens shared by consecutive chunks.")

    @field_validator("kb")
    @classmethod
    def _valid_kb(cls, value: str) -> str:
        if not KB_NAME.match(value):
            raise ValueError(
                "knowledge base names use lowercase letters, digits, '-' and '_' (at most 63 characters), "
                f"starting with a letter or digit; got {value!r}"
            )
        return value


def effective_settings(settings: Settings, request: IngestRequest) -> Settings:
    """The platform settings with the request's overrides applied (and validated again)."""
    chunking = settings.chunking.model_dump()
    if request.chunk_tokens is not None:
        chunking["chunk_tokens"] = request.chunk_tokens
    if request.overlap_tokens is not None:
        chunking["overlap_tokens"] = request.overlap_tokens
    ingest = settings.ingest.model_dump()
    if request.keep_deleted is not None:
        ingest["keep_deleted"] = request.keep_deleted
    return settings.model_copy(
        update={
            "chunking": ChunkingSettings.model_validate(chunking),
            "ingest": IngestSettings.model_validate(ingest),
        }
    )
