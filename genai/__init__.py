"""genai-platform: the shared kernel.

Settings, database models, stores (vector, document), the embedding model, data-quality suites, the
ingestion pipeline's plain functions and the `genai` command line live here. Prefect flows (``flows/``),
tasks (``tasks/``) and the gateway (``gateway/``) call into this package; nothing here imports Prefect
except the modules that exist to talk to it.
"""

__version__ = "0.1.0"
