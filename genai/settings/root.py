"""The platform's one settings object, assembled from one section per module of this package.

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

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from genai.settings.accounting import AccountingSettings
from genai.settings.auth import AuthSettings
from genai.settings.batch import BatchSettings
from genai.settings.cache import CacheSettings
from genai.settings.embedding import EmbeddingSettings
from genai.settings.gateway import GatewaySettings
from genai.settings.ingestion import ChunkingSettings, IngestSettings
from genai.settings.limits import LimitsSettings
from genai.settings.orchestration import PrefectSettings
from genai.settings.output import OutputSettings
from genai.settings.registry import RegistrySettings
from genai.settings.reports import ReportsSettings
from genai.settings.retrieval import RetrievalSettings
from genai.settings.screening import ScreeningSettings
from genai.settings.stores import DocumentStoreSettings, QdrantSettings
from genai.settings.tenants import TenantSettings


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
    # stores shared by every part (genai/settings/stores.py holds the document store and Qdrant sections)
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home.")
    redis_url: str | None = None
    mlflow_tracking_uri: str | None = None
    document_store: DocumentStoreSettings = Field(default_factory=DocumentStoreSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    # batch work
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    # online path
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)
    accounting: AccountingSettings = Field(default_factory=AccountingSettings)
    screening: ScreeningSettings = Field(default_factory=ScreeningSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    # models: the MLflow registry, evaluation and promotion gates
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    # reserved for coming features: no fields yet, and any value given is refused
    cache: CacheSettings = Field(default_factory=CacheSettings)
    reports: ReportsSettings = Field(default_factory=ReportsSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)

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
