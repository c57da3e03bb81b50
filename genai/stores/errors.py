"""Exceptions the stores raise, so callers can tell "try again" from "this is a bug".

Every backend turns its own transient failures (connection lost, server unreachable, lock timeouts,
serialisation conflicts) into ``TransientStoreError``, which Prefect tasks list in ``retry_condition_fn``
or catch to retry; every other error propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc


class TransientStoreError(RuntimeError):
    """A store operation failed for a reason that may pass: retrying the same call is safe."""


class KnowledgeBaseNotFoundError(LookupError):
    """The knowledge base has nothing stored under it (never ingested, or dropped)."""


# SQLite reports lock contention and I/O trouble as OperationalError, but so it does missing tables and
# syntax errors; only these messages mean another attempt can succeed.
_SQLITE_TRANSIENT_MARKERS = ("database is locked", "database table is locked", "disk i/o error", "busy")


def is_transient_sql_error(error: BaseException) -> bool:
    """Whether a SQLAlchemy error is worth retrying."""
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        message = str(error.orig).lower()
        return any(marker in message for marker in _SQLITE_TRANSIENT_MARKERS)
    # psycopg raises OperationalError for connection failures, serialisation failures and deadlocks;
    # programming mistakes arrive as ProgrammingError and friends.
    return True


@contextmanager
def translate_sql_errors(operation: str) -> Iterator[None]:
    """Re-raise transient SQLAlchemy errors inside the block as ``TransientStoreError``."""
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        if is_transient_sql_error(error):
            raise TransientStoreError(f"{operation}: {error}") from error
        raise
