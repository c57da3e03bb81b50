"""Quarantined inputs: documents a run refused, with the failed check and a reason a person can act on.

Kept in the platform's SQL database whichever document store is configured, so "nothing is lost" holds
on the embedded default too. ``clear`` is for the next successful ingestion of a document.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.orm import Session, aliased

from genai.db import IngestRunRow, QuarantineRow, for_writing, get_engine
from genai.ingest.records import QuarantineRecord
from genai.stores.errors import translate_sql_errors

_FIELDS = tuple(QuarantineRecord.model_fields)
_IDS_PER_STATEMENT = 500


class QuarantineStore:
    """Append-mostly log of quarantined documents in the ``quarantine`` table."""

    def __init__(self, url: str) -> None:
        with translate_sql_errors("opening the quarantine database"):
            self._engine = get_engine(url)
            self._writer = for_writing(self._engine)

    def add(self, records: Sequence[QuarantineRecord]) -> None:
        """Append records in one transaction (a document may be quarantined again by a later run)."""
        if not records:
            return
        rows = [record.model_dump() for record in records]
        with (
            translate_sql_errors("adding quarantine records"),
            Session(self._writer) as session,
            session.begin(),
        ):
            session.execute(insert(QuarantineRow), rows)

    def list(
        self, kb: str | None = None, run_id: str | None = None, *, latest_only: bool = False
    ) -> builtins.list[QuarantineRecord]:
        """Records by knowledge base, oldest first, of one kb and/or run, or all. ``latest_only`` keeps,
        per knowledge base, only the entries of its most recently started run (what a person fixes next)."""
        query = select(QuarantineRow).order_by(QuarantineRow.kb, QuarantineRow.created_at, QuarantineRow.id)
        if kb is not None:
            query = query.where(QuarantineRow.kb == kb)
        if run_id is not None:
            query = query.where(QuarantineRow.run_id == run_id)
        if latest_only:
            query = query.where(QuarantineRow.run_id == _latest_run_of_row_kb())
        with translate_sql_errors("listing quarantine records"), Session(self._engine) as session:
            return [
                QuarantineRecord.model_validate({name: getattr(row, name) for name in _FIELDS})
                for row in session.scalars(query)
            ]

    def clear(self, kb: str, doc_ids: Sequence[str]) -> int:
        """Forget the quarantine records of these documents; returns how many were removed."""
        removed = 0
        with (
            translate_sql_errors("clearing quarantine records"),
            Session(self._writer) as session,
            session.begin(),
        ):
            for i in range(0, len(doc_ids), _IDS_PER_STATEMENT):
                group = doc_ids[i : i + _IDS_PER_STATEMENT]
                result = session.execute(
                    delete(QuarantineRow).where(QuarantineRow.kb == kb, QuarantineRow.doc_id.in_(group))
                )
                removed += result.rowcount  # type: ignore[attr-defined]
        return removed


def _latest_run_of_row_kb() -> ColumnElement[str]:
    """The newest run of the outer quarantine row's knowledge base: from the run log, or, for runs that
    were never logged (records added by other tools), the newest run that quarantined something."""
    logged = (
        select(IngestRunRow.run_id)
        .where(IngestRunRow.kb == QuarantineRow.kb)
        .order_by(IngestRunRow.started_at.desc(), IngestRunRow.run_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    other = aliased(QuarantineRow)
    quarantined = (
        select(other.run_id)
        .where(other.kb == QuarantineRow.kb)
        .order_by(other.created_at.desc(), other.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(logged, quarantined)
