"""The platform's settings: one ``Settings`` object, one YAML file, one set of ``GENAI_*`` variables.

Each section lives in its own module (stores, ingestion, embedding, orchestration, gateway, and the
reserved sections of coming features); ``Settings`` in ``root`` puts them together. Every name is
re-exported here, so ``from genai.settings import Settings, EmbeddingSettings, GatewaySettings`` works.
"""

from genai.settings.accounting import AccountingSettings, ModelPrice
from genai.settings.auth import AuthSettings, OidcSettings
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
from genai.settings.limits import LimitsSettings, TierLimits
from genai.settings.orchestration import PrefectSettings
from genai.settings.output import OutputSettings
from genai.settings.placeholder import PlaceholderSection
from genai.settings.registry import EvaluationSettings, GateSettings, RegistrySettings
from genai.settings.reports import ReportsSettings
from genai.settings.retrieval import (
    KnowledgeBaseRetrieval,
    ResolvedRetrieval,
    RetrievalMode,
    RetrievalSettings,
)
from genai.settings.root import Settings, get_settings
from genai.settings.screening import ScreeningSettings
from genai.settings.section import SettingsSection
from genai.settings.stores import DocumentStoreSettings, QdrantSettings
from genai.settings.tenants import TenantSettings

__all__ = [
    "PIPELINE_SCHEMA",
    "AccountingSettings",
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
    "KnowledgeBaseRetrieval",
    "LimitsSettings",
    "ModelPrice",
    "ModelRoute",
    "OidcSettings",
    "OutputSettings",
    "PlaceholderSection",
    "PrefectSettings",
    "QdrantSettings",
    "RegistrySettings",
    "ReportsSettings",
    "ResolvedRetrieval",
    "RetrievalMode",
    "RetrievalSettings",
    "RetrySettings",
    "RouteTarget",
    "ScreeningSettings",
    "Settings",
    "SettingsSection",
    "TenantSettings",
    "TierLimits",
    "UpstreamSettings",
    "get_settings",
]
