"""Accumulates an ingestion run's counts and stage timings into its summary."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from genai.ingest.plan import IngestPlan
from genai.ingest.records import QuarantineRecord
from genai.ingest.summary import IngestSummary, QuarantinedFile


class RunTally:
    """The summary under construction, plus a timer that adds wall seconds to named stages."""

    def __init__(self, run_id: str, kb: str, source: str, version: str) -> None:
        self.summary = IngestSummary(run_id=run_id, kb=kb, source=source, pipeline_version=version)
        self._chunks_checked = 0
        self._chunk_failures = 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block and add it to stage ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.summary.seconds[name] = round(self.summary.seconds.get(name, 0.0) + elapsed, 3)

    def planned(self, seen: int, plan: IngestPlan) -> None:
        self.summary.seen = seen
        self.summary.new = len(plan.new)
        self.summary.changed = len(plan.changed)
        self.summary.unchanged = len(plan.unchanged)

    def documents_quarantined(self, records: Sequence[QuarantineRecord], verdict: str) -> None:
        self._quarantined(records)
        self.summary.quality["documents"] = verdict

    def chunks_checked(self, checked: int, records: Sequence[QuarantineRecord], plan: IngestPlan) -> None:
        """Documents quarantined after planning no longer count as new or changed."""
        new_ids = {doc.doc_id for doc in plan.new}
        for record in records:
            if record.doc_id in new_ids:
                self.summary.new -= 1
            else:
                self.summary.changed -= 1
        self._quarantined(records)
        self._chunks_checked += checked
        self._chunk_failures += len(records)
        self.summary.quality["chunks"] = (
            f"{self._chunks_checked} chunks checked, {self._chunk_failures} document(s) failed"
        )

    def _quarantined(self, records: Sequence[QuarantineRecord]) -> None:
        self.summary.quarantined += len(records)
        self.summary.quarantined_files += [
            QuarantinedFile(source=r.source, check=r.check, reason=r.reason) for r in records
        ]

    def written(self, chunks: int, tokens: int) -> None:
        self.summary.chunks += chunks
        self.summary.tokens += tokens
