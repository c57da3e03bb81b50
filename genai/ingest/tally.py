"""Accumulates an ingestion run's counts and stage timings into its summary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from genai.ingest.plan import IngestPlan
from genai.ingest.summary import IngestSummary


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

    def documents_quarantined(self, count: int, verdict: str) -> None:
        self.summary.quarantined += count
        self.summary.quality["documents"] = verdict

    def chunks_checked(self, checked: int, failed_doc_ids: list[str], plan: IngestPlan) -> None:
        """Documents quarantined after planning no longer count as new or changed."""
        new_ids = {doc.doc_id for doc in plan.new}
        for doc_id in failed_doc_ids:
            if doc_id in new_ids:
                self.summary.new -= 1
            else:
                self.summary.changed -= 1
        self.summary.quarantined += len(failed_doc_ids)
        self._chunks_checked += checked
        self._chunk_failures += len(failed_doc_ids)
        self.summary.quality["chunks"] = (
            f"{self._chunks_checked} chunks checked, {self._chunk_failures} document(s) failed"
        )

    def written(self, chunks: int, tokens: int) -> None:
        self.summary.chunks += chunks
        self.summary.tokens += tokens
