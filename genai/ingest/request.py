"""The ingestion flow's parameters: one definition per field, shared by the flow's signature (which Prefect
turns into the run form and the deployment's parameter schema) and by ``IngestRequest`` (what the stages
get, validated once).

Each field carries a plain-language title and description for the Prefect UI. Optional fields have real,
JSON-valued defaults: the UI renders ``X | None`` as a type choice ("Property is type None"), and fills a
``null`` default into a plain field, where the schema then refuses it. Empty lists and the sentinels 0 and
-1 mean "use the platform settings". The knowledge-base rule is in the schema as a pattern, so the Prefect
API refuses a bad name when the run is created, not when it starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, model_validator

from genai.ingest.shards import MAX_SHARDS, ShardSpec
from genai.settings import ChunkingSettings, IngestSettings, Settings

KB_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
KB_NAME = re.compile(KB_PATTERN)
KB_RULE = "lowercase letters, digits, '-' and '_', at most 63 characters, starting with a letter or digit"


def check_kb_name(value: str) -> str:
    """The knowledge-base name rule, with a message that says what a valid name looks like."""
    if not KB_NAME.match(value):
        raise ValueError(f"knowledge base names use {KB_RULE}; got {value!r}")
    return value


def shown(title: str, description: str, **schema: Any) -> Any:
    """Title and description as the UI shows them. Prefect overwrites a field's own title with the
    parameter's name, but keeps ``json_schema_extra``, which is applied last."""
    return Field(json_schema_extra={"title": title, "description": description, **schema})


Source = Annotated[
    str,
    Field(min_length=1),
    shown("Source folder", "A folder (read recursively) or one file, on the machine where the flow runs."),
]
KnowledgeBase = Annotated[
    str,
    AfterValidator(check_kb_name),
    shown("Knowledge base", f"The knowledge base to ingest into: {KB_RULE}.", pattern=KB_PATTERN),
]
Include = Annotated[
    Sequence[str],
    shown("Include", "Glob patterns of files to read, e.g. **/*.md. Empty: the platform's ingest.include."),
]
Exclude = Annotated[
    Sequence[str],
    shown("Exclude", "Glob patterns of files to leave out, e.g. drafts/**. Empty: ingest.exclude."),
]
DocIds = Annotated[
    Mapping[str, str],
    shown(
        "Document ids",
        'Your own document ids by source-relative path, e.g. {"policies/leave.md": "HR-001"}. '
        "Files not listed are known by their path.",
    ),
]
KeepDeleted = Annotated[
    bool,
    shown(
        "Keep deleted documents",
        "Keep documents that are gone from the source in the knowledge base (also on when "
        "ingest.keep_deleted is set).",
    ),
]
PLATFORM_CHUNK_TOKENS = 0
PLATFORM_OVERLAP_TOKENS = -1


def _chunk_size(value: int) -> int:
    if value != PLATFORM_CHUNK_TOKENS and not 16 <= value <= 8192:
        raise ValueError(f"a chunk holds 16 to 8192 tokens (0: the platform's setting); got {value}")
    return value


ChunkTokens = Annotated[
    int,
    AfterValidator(_chunk_size),
    shown(
        "Chunk size (tokens)",
        "Most tokens per chunk, 16 to 8192. 0: the platform's chunking.chunk_tokens.",
        minimum=0,
        maximum=8192,
    ),
]
OverlapTokens = Annotated[
    int,
    Field(ge=PLATFORM_OVERLAP_TOKENS),
    shown(
        "Overlap (tokens)",
        "Tokens shared by consecutive chunks. -1: the platform's chunking.overlap_tokens.",
    ),
]
ShardIndex = Annotated[
    int,
    Field(ge=0),
    shown(
        "Shard index",
        "Which shard of the source this run ingests, 0 to shard count - 1 (the ingest-sharded flow sets it).",
        minimum=0,
    ),
]
ShardCount = Annotated[
    int,
    Field(ge=1, le=MAX_SHARDS),
    shown(
        "Shard count",
        "Into how many shards the source is split; 1: the whole source. A sharded run deletes nothing: "
        "the parent run removes documents gone from the source once every shard has finished.",
        minimum=1,
        maximum=MAX_SHARDS,
    ),
]


class IngestRequest(BaseModel):
    """What to ingest and into which knowledge base. Unset fields fall back to the platform settings."""

    source: Source
    knowledge_base: KnowledgeBase
    include: Include = ()
    exclude: Exclude = ()
    doc_ids: DocIds = {}
    keep_deleted: KeepDeleted = False
    chunk_tokens: ChunkTokens = PLATFORM_CHUNK_TOKENS
    overlap_tokens: OverlapTokens = PLATFORM_OVERLAP_TOKENS
    shard_index: ShardIndex = 0
    shard_count: ShardCount = 1

    @model_validator(mode="after")
    def _shard_in_range(self) -> IngestRequest:
        if self.shard_index >= self.shard_count:
            raise ValueError(
                f"shard index {self.shard_index} is out of range for {self.shard_count} shard(s)"
            )
        return self

    @property
    def shard(self) -> ShardSpec:
        return ShardSpec(index=self.shard_index, count=self.shard_count)


def effective_settings(settings: Settings, request: IngestRequest) -> Settings:
    """The platform settings with the request's overrides applied (and validated again)."""
    chunking = settings.chunking.model_dump()
    if request.chunk_tokens != PLATFORM_CHUNK_TOKENS:
        chunking["chunk_tokens"] = request.chunk_tokens
    if request.overlap_tokens != PLATFORM_OVERLAP_TOKENS:
        chunking["overlap_tokens"] = request.overlap_tokens
    ingest = settings.ingest.model_dump()
    if request.keep_deleted:
        ingest["keep_deleted"] = True
    return settings.model_copy(
        update={
            "chunking": ChunkingSettings.model_validate(chunking),
            "ingest": IngestSettings.model_validate(ingest),
        }
    )
