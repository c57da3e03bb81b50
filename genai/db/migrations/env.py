"""Alembic environment: migrates the connection ``genai.db.migrate`` hands over, or the configured URL.

``genai.db.migrate`` passes an open connection in ``config.attributes["connection"]`` inside the
transaction that holds the migration lock; the URL path serves ``--sql`` (offline) runs and tools that
build their own ``Config``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from genai.db import models, models_access, models_usage  # noqa: F401 - registers the tables on Base.metadata
from genai.db.base import Base
from genai.db.engine import create_configured_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection in config.attributes or set sqlalchemy.url")
    engine = create_configured_engine(url)
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
