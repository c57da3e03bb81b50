"""The SQL layer against real databases: migrations equal the models, engines are configured and cached."""

from __future__ import annotations

import io
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from genai.db import (
    Base,
    IngestRunRow,
    create_configured_engine,
    dispose_engine,
    get_engine,
    upgrade_database,
)
from genai.db.engine import configure_sqlite_connection, normalize_url
from genai.db.migrate import alembic_config, downgrade_database, upgrade_engine

TABLES = {
    "documents",
    "chunks",
    "quarantine",
    "ingest_runs",
    "api_keys",
    "audit_log",
    "usage_records",
    "report_alerts",
    "batch_files",
    "batches",
}
HEAD = "0005_batch_files"


def _schema_state(url: str) -> tuple[list[object], set[str], str | None]:
    """Differences between the database and the models, its tables, and its Alembic revision."""
    engine = create_configured_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
            return diffs, tables, context.get_current_revision()
    finally:
        engine.dispose()


def test_migration_produces_the_models_schema(database_url: str) -> None:
    upgrade_database(database_url)
    diffs, tables, revision = _schema_state(database_url)
    assert diffs == []
    assert tables == TABLES
    assert revision == HEAD


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url: str) -> None:
    upgrade_database(database_url)
    downgrade_database(database_url, "base")
    assert _schema_state(database_url)[1:] == (set(), None)
    upgrade_database(database_url)
    upgrade_database(database_url)  # a second upgrade at head changes nothing
    assert _schema_state(database_url) == ([], TABLES, HEAD)


def test_get_engine_migrates_on_first_use_and_caches_per_url(database_url: str) -> None:
    engine = get_engine(database_url)
    assert get_engine(database_url) is engine
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_sqlite_engine_creates_its_folder_and_sets_pragmas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'there.db'}"
    try:
        engine = get_engine(url)
        assert (tmp_path / "not" / "yet" / "there.db").exists()
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}
        assert get_engine(f"sqlite:///{tmp_path / 'other.db'}") is not engine
    finally:
        dispose_engine(url)
        dispose_engine(f"sqlite:///{tmp_path / 'other.db'}")


def test_sqlite_transactions_roll_back_ddl_and_dml(sqlite_url: str) -> None:
    """pysqlite's own transaction handling is off: a rolled-back transaction leaves nothing behind."""
    engine = get_engine(sqlite_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO scratch VALUES (1)")
        transaction.rollback()
    assert "scratch" not in inspect(engine).get_table_names()


def test_concurrent_first_use_of_a_new_sqlite_database(tmp_path: Path) -> None:
    """Several processes' worth of engines migrating one new file at once: one migrates, the rest wait."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def migrate() -> None:
        engine = create_configured_engine(url)
        try:
            start.wait()
            upgrade_engine(engine)
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _schema_state(url) == ([], TABLES, HEAD)


def test_many_connections_opening_a_new_sqlite_file_at_once_all_get_wal(tmp_path: Path) -> None:
    """Turning a new file to WAL takes an exclusive lock that SQLite refuses at once, not after busy_timeout,
    when another connection does the same; every connection must still be set up, and in WAL mode."""
    journal_modes: list[str] = []
    errors: list[BaseException] = []

    def set_up(connection: sqlite3.Connection, start: threading.Barrier) -> None:
        try:
            start.wait()
            configure_sqlite_connection(connection, None)
            journal_modes.append(connection.execute("PRAGMA journal_mode").fetchone()[0])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    for round_number in range(40):  # without the wait the race is lost in a few percent of rounds
        path = tmp_path / f"{round_number}.db"
        connections = [sqlite3.connect(path, check_same_thread=False) for _ in range(4)]
        start = threading.Barrier(len(connections))
        threads = [threading.Thread(target=set_up, args=(connection, start)) for connection in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert journal_modes == ["wal"] * 40 * 4


def test_timestamps_are_stored_in_utc_and_come_back_aware(database_url: str) -> None:
    plus_two = timezone(timedelta(hours=2))
    started = datetime(2026, 11, 20, 14, 30, 15, 123456, tzinfo=plus_two)
    naive_finished = datetime(2026, 11, 20, 13, 0, 0)  # naive values are taken as UTC
    with Session(get_engine(database_url)) as session, session.begin():
        session.merge(
            IngestRunRow(
                run_id="r-utc", kb="kb", started_at=started, finished_at=naive_finished, status="completed"
            )
        )
    with Session(get_engine(database_url)) as session:
        row = session.scalars(select(IngestRunRow).where(IngestRunRow.run_id == "r-utc")).one()
        assert row.started_at == started
        assert row.started_at.tzinfo == UTC
        assert row.finished_at == naive_finished.replace(tzinfo=UTC)


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_offline_migration_renders_sql() -> None:
    config = alembic_config(url="postgresql://user:p%40ss@db.example/genai")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    script = config.output_buffer.getvalue()
    for table in TABLES:
        assert f"CREATE TABLE {table}" in script
    assert "CREATE INDEX ix_quarantine_kb ON quarantine (kb)" in script
