"""Ingest runs: when each run of the ingestion flow started and finished, how it ended, and its summary.

The summary is any JSON-able mapping (counts of new, changed, skipped, deleted and quarantined documents,
timings); values such as datetimes or paths are converted to JSON on the way in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from genai.db import IngestRunRow, for_writing, get_engine
from genai.stores.errors import translate_sql_errors

RUNNING = "running"


class IngestRun(BaseModel):
    """One run of the ingestion flow over one knowledge base."""

    run_id: str
    kb: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str
    summary: dict[str, Any] | None = None


class RunStore:
    """Start/finish bookkeeping of ingest runs in the ``ingest_runs`` table."""

    def __init__(self, url: str) -> None:
        with translate_sql_errors("opening the runs database"):
            self._engine = get_engine(url)
            self._writer = for_writing(self._engine)

    def start_run(self, run_id: str, kb: str) -> None:
        """Record that a run started. Starting the same run_id again (a retried flow) restarts it."""
        now = datetime.now(UTC)
        with (
            translate_sql_errors("starting an ingest run"),
            Session(self._writer) as session,
            session.begin(),
        ):
            row = session.get(IngestRunRow, run_id)
            if row is None:
                session.add(IngestRunRow(run_id=run_id, kb=kb, started_at=now, status=RUNNING))
                return
            row.kb, row.started_at, row.status = kb, now, RUNNING
            row.finished_at, row.summary = None, None

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Record how a started run ended; raises ``LookupError`` for a run that never started."""
        if status == RUNNING:
            raise ValueError(f"a finished run needs a final status, not {RUNNING!r}")
        statement = (
            update(IngestRunRow)
            .where(IngestRunRow.run_id == run_id)
            .values(status=status, finished_at=datetime.now(UTC), summary=to_jsonable_python(summary))
        )
        with (
            translate_sql_errors("finishing an ingest run"),
            Session(self._writer) as session,
            session.begin(),
        ):
            if session.execute(statement).rowcount == 0:  # type: ignore[attr-defined]
                raise LookupError(f"no ingest run {run_id!r} was started")

    def get_run(self, run_id: str) -> IngestRun | None:
        with translate_sql_errors("reading an ingest run"), Session(self._engine) as session:
            row = session.get(IngestRunRow, run_id)
            return None if row is None else _run(row)

    def last_runs(self, kb: str, n: int = 10) -> list[IngestRun]:
        """The ``n`` most recently started runs of ``kb``, newest first."""
        query = (
            select(IngestRunRow)
            .where(IngestRunRow.kb == kb)
            .order_by(IngestRunRow.started_at.desc(), IngestRunRow.run_id.desc())
            .limit(n)
        )
        with translate_sql_errors("listing ingest runs"), Session(self._engine) as session:
            return [_run(row) for row in session.scalars(query)]


def _run(row: IngestRunRow) -> IngestRun:
    return IngestRun.model_validate(row, from_attributes=True)
