"""The summary of a sharded ingestion: each shard's flow run, state and counts, the totals, and what the
parent's final step did; rendered as markdown and table rows for the Prefect UI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from genai.ingest.summary import IngestSummary

COUNTED = ("seen", "new", "changed", "unchanged", "quarantined", "chunks", "tokens")


class ShardOutcome(BaseModel):
    """One shard: its flow run, how it ended, and its own summary (from the run log) when it finished."""

    index: int
    label: str
    documents: int = Field(description="Documents the parent planned for the shard.")
    flow_run_id: str
    state: str = Field(description="The flow run's final state type: COMPLETED, FAILED, CRASHED, ...")
    summary: IngestSummary | None = None


class ShardedSummary(BaseModel):
    """The parent run's report. ``finalized``: every shard completed and the final step ran."""

    run_id: str
    kb: str
    source: str
    shard_count: int
    deployment: str
    shards: list[ShardOutcome] = Field(default_factory=list)
    finalized: bool = False
    deleted: int = 0
    repaired: int = 0
    total_chunks: int = 0

    def total(self, name: str) -> int:
        """A count summed over the shards that reported a summary."""
        return sum(int(getattr(shard.summary, name)) for shard in self.shards if shard.summary is not None)

    def unfinished(self) -> list[ShardOutcome]:
        return [shard for shard in self.shards if shard.state != "COMPLETED"]

    def rows(self) -> list[dict[str, str | int]]:
        """One table row per shard."""
        return [
            {
                "shard": shard.label,
                "documents": shard.documents,
                "state": shard.state,
                "flow_run_id": shard.flow_run_id,
                **{name: int(getattr(shard.summary, name)) if shard.summary else 0 for name in COUNTED},
            }
            for shard in self.shards
        ]

    def to_markdown(self) -> str:
        lines = [
            f"# Sharded ingestion of `{self.source}` into knowledge base `{self.kb}`",
            "",
            f"{len(self.shards)} shard run(s) of `{self.deployment}` ({self.shard_count} planned), "
            f"parent run `{self.run_id}`.",
            "",
            "| " + " | ".join(COUNTED) + " | deleted | repaired | total chunks |",
            "|" + "---:|" * (len(COUNTED) + 3),
            "| "
            + " | ".join(str(self.total(name)) for name in COUNTED)
            + f" | {self.deleted} | {self.repaired} | {self.total_chunks} |",
            "",
        ]
        unfinished = self.unfinished()
        if unfinished:
            names = ", ".join(f"{shard.label} ({shard.state})" for shard in unfinished)
            lines += [
                f"**Not finished: {names}.** Nothing was deleted and the consistency check did not run. Run "
                "again with the same parameters: each shard gets the same documents and skips those it "
                "already wrote.",
                "",
            ]
        lines += ["| shard | documents | state | flow run |", "|---|---:|---|---|"]
        lines += [f"| {s.label} | {s.documents} | {s.state} | `{s.flow_run_id}` |" for s in self.shards]
        return "\n".join(lines)
