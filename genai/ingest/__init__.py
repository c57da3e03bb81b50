"""The ingestion pipeline as plain functions: sources, parsing, normalization, chunking, planning, writing.

Prefect tasks in ``tasks/ingest.py`` wrap these; tests and the gateway call them directly.
"""
