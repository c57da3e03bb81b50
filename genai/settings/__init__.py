"""The platform's settings: one ``Settings`` object, one YAML file, one set of ``GENAI_*`` variables.

Each section lives in its own module (stores, ingestion, embedding, orchestration, gateway, and the
reserved sections of coming features); ``Settings`` in ``root`` puts them together. Every name is
re-exported here, so ``from genai.settings import Settings, EmbeddingSettings, GatewaySettings`` works.
"""

from genai.settings.auth import AuthSettings
from genai.settings.batch import BatchSettings
from genai.settings.cache import CacheSettings
from genai.settings.embedding import EmbeddingSettings
from genai.settings.gateway import (
    BreakerSettings,
    GatewaySettings,
    ModelRoute,
    RetrySettings,
    RouteTarget,
    UpstreamSettings,
)
from genai.settings.ingestion import PIPELINE_SCHEMA, ChunkingSettings, IngestSettings
from genai.settings.limits import LimitsSettings
from genai.settings.orchestration import PrefectSettings
from genai.settings.placeholder import PlaceholderSection
from genai.settings.registry import EvaluationSettings, GateSettings, RegistrySettings
from genai.settings.reports import ReportsSettings
from genai.settings.root import Settings, get_settings
from genai.settings.section import SettingsSection
from genai.settings.stores import DocumentStoreSettings, QdrantSettings

__all__ = [
    "PIPELINE_SCHEMA",
    "AuthSettings",
    "BatchSettings",
    "BreakerSettings",
    "CacheSettings",
    "ChunkingSettings",
    "DocumentStoreSettings",
    "EmbeddingSettings",
    "EvaluationSettings",
    "GateSettings",
    "GatewaySettings",
    "IngestSettings",
    "LimitsSettings",
    "ModelRoute",
    "PlaceholderSection",
    "PrefectSettings",
    "QdrantSettings",
    "RegistrySettings",
    "ReportsSettings",
    "RetrySettings",
    "RouteTarget",
    "Settings",
    "SettingsSection",
    "UpstreamSettings",
    "get_settings",
]
