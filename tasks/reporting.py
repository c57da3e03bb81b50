"""Publishing run reports to Prefect: markdown and table artifacts under stable keys, and a progress bar."""

from __future__ import annotations

import re
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from genai.ingest.summary import IngestSummary


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only; empty parts are left out."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(part for part in parts if part).lower()).strip("-")


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: IngestSummary, scope: str = "") -> None:
    """The run's report (markdown), its counts and its quarantined files (tables), each under a key per
    knowledge base so the UI keeps their history; a shard's ``scope`` (``2-of-4``) keeps its own keys, so
    the shards of one run do not overwrite each other's latest report."""
    kb = "-".join(part for part in (summary.kb, scope) if part)
    create_markdown_artifact(
        summary.to_markdown(),
        key=artifact_key("ingest", kb, "summary"),
        description=f"Ingestion summary for knowledge base {summary.kb}",
    )
    create_table_artifact(
        summary.count_rows(),
        key=artifact_key("ingest", kb, "counts"),
        description=f"Ingestion counts and stage seconds for knowledge base {summary.kb}",
    )
    # Published on every run, empty when nothing was refused, so the latest table under the key is
    # always this run's.
    create_table_artifact(
        summary.quarantine_rows() or {"source": [], "check": [], "reason": []},
        key=artifact_key("ingest", kb, "quarantine"),
        description=f"Files the last ingestion into {summary.kb} quarantined: the failed checks and why",
    )


class ProgressArtifact:
    """A Prefect progress artifact that a long run moves from 0 to 100 percent."""

    def __init__(self, kb: str, scope: str = "") -> None:
        artifact_id = create_progress_artifact(
            0.0,
            key=artifact_key("ingest", kb, scope, "progress"),
            description=f"Documents embedded and written into knowledge base {kb}",
        )

        assert isinstance(artifact_id, UUID), "a sync flow gets the id, not a coroutine"
        self._id: UUID = artifact_id

    def update(self, done: int, total: int) -> None:
        percent = 100.0 if total == 0 else round(100.0 * done / total, 1)
        update_progress_artifact(self._id, percent)
