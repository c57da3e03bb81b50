"""The platform's SQL database: typed models, engines, and the Alembic migrations that create them.

``get_engine(url)`` is the way in: it returns the process's engine for a URL, migrated to the latest
schema on first use, so the embedded SQLite default needs no setup.
"""

from genai.db.base import Base
from genai.db.engine import create_configured_engine, dispose_engine, dispose_engines, for_writing, get_engine
from genai.db.migrate import upgrade_database
from genai.db.models import ChunkRow, DocumentRow, IngestRunRow, QuarantineRow
from genai.db.models_access import ApiKeyRow, AuditEntryRow
from genai.db.models_batch import BatchFileRow, BatchRow
from genai.db.models_reports import ReportAlertRow
from genai.db.models_usage import UsageRow

__all__ = [
    "ApiKeyRow",
    "AuditEntryRow",
    "Base",
    "BatchFileRow",
    "BatchRow",
    "ChunkRow",
    "DocumentRow",
    "IngestRunRow",
    "QuarantineRow",
    "ReportAlertRow",
    "UsageRow",
    "create_configured_engine",
    "dispose_engine",
    "dispose_engines",
    "for_writing",
    "get_engine",
    "upgrade_database",
]
