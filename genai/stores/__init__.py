"""Stores of the ingestion pipeline: documents and chunks (SQL or MongoDB), vectors (Qdrant), quarantined
inputs and ingest runs (SQL). Backends are chosen by settings; callers see one interface per store."""
