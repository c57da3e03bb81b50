"""Settings of the stores behind the kernel: the document store and Qdrant.

The SQL database (``database_url``) and Redis (``redis_url``) stay top-level fields of ``Settings``
(``GENAI_DATABASE_URL``, ``GENAI_REDIS_URL``) because every part of the platform shares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from genai.settings.section import SettingsSection


class DocumentStoreSettings(SettingsSection):
    """Where documents and chunk texts are kept: the SQL database or MongoDB."""

    backend: Literal["sql", "mongodb"] = "sql"
    mongodb_url: str | None = None
    mongodb_database: str = "genai"


class QdrantSettings(SettingsSection):
    """Qdrant: local mode under ``home`` unless ``url`` names a server."""

    url: str | None = None
    api_key: SecretStr | None = None
    path: Path | None = None
    collection_prefix: str = "kb_"
    # Local mode only: answer unfiltered searches from an exact in-memory copy of each collection
    # (genai.stores.vectors_index), read at the first search after a write; off, local mode searches alone.
    local_index: bool = True
