"""SQLAlchemy engines for the platform database: one per URL per process, migrated on first use.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout, so the ingestion flow's
concurrent tasks and a reading gateway can share one file; its transactions are real ones (pysqlite's
implicit transaction handling is switched off), which makes the migrations transactional too. PostgreSQL
runs on psycopg 3.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_OPTION = "sqlite_begin"  # execution option: "BEGIN IMMEDIATE" takes the write lock up front

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_url(url: str | URL) -> URL:
    """The URL with PostgreSQL pinned to psycopg 3, the only PostgreSQL driver the platform installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_configured_engine(url: str | URL) -> Engine:
    """A new engine with the platform's settings for its database; not cached, not migrated."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def get_engine(url: str | URL) -> Engine:
    """The process's engine for ``url``, created and brought to the latest schema on first use."""
    from genai.db.migrate import upgrade_engine

    key = normalize_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_configured_engine(key)
            try:
                upgrade_engine(engine)
            except BaseException:
                engine.dispose()
                raise
            # Cached only once migrated, so a failed first use is retried in full next time.
            _engines[key] = engine
        return engine


def for_writing(engine: Engine) -> Engine:
    """The same engine and pool, but SQLite transactions take the write lock as they begin.

    A deferred SQLite transaction that reads before it writes fails at once with "database is locked" when
    another connection committed in between; one that holds the lock from the start waits its turn
    (busy_timeout) instead. Other databases ignore the option.
    """
    return engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})


def dispose_engine(url: str | URL) -> None:
    """Close the cached engine of ``url``, if any, and forget it; the next ``get_engine`` makes a new one."""
    key = normalize_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.pop(key, None)
    if engine is not None:
        engine.dispose()


def dispose_engines() -> None:
    """Close every cached engine's connections and forget them (tests, and before a fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    event.listen(engine, "connect", configure_sqlite_connection)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Set up a new pysqlite connection: real transactions, busy timeout, WAL, foreign keys (connect hook)."""
    # Without this pysqlite opens transactions itself, late and never around DDL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL with NORMAL sync is durable against process crashes, which is what the pipeline needs.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is locked" at once,
    # without its busy handler, when another connection is doing the same; so wait here instead.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN"))
