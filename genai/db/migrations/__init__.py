"""Alembic migrations of the platform database, run by ``genai.db.migrate`` (no alembic.ini needed)."""
