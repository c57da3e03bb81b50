"""Run the Alembic migrations shipped inside the package, with no alembic.ini on disk.

``get_engine`` calls ``upgrade_engine`` on first use of a URL, so a fresh machine needs no setup step.
Two processes may start at once against a new database: the upgrade holds a database-wide lock for its
whole transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so the second one waits,
then finds the schema at head and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from genai.db.engine import create_configured_engine, for_writing, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK_KEY = 0x67656E6169  # "genai" as an integer; any constant shared by all processes works


def alembic_config(url: str | URL | None = None, connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the package's migrations, for ``alembic.command`` functions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalize_url(url).render_as_string(hide_password=False)
        # ConfigParser interpolates '%': URL-encoded passwords would break without doubling it.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Bring ``engine``'s database to ``revision`` in one transaction, under a migration lock."""
    with for_writing(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(connection=connection), revision)


def upgrade_database(url: str | URL, revision: str = "head") -> None:
    """``alembic upgrade head`` for the database at ``url``, programmatically."""
    engine = create_configured_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def downgrade_database(url: str | URL, revision: str) -> None:
    """``alembic downgrade <revision>`` for the database at ``url`` (``"base"`` drops every table)."""
    engine = create_configured_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()
