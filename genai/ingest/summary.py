"""The run summary an ingestion run reports: counts, per-stage seconds, and its markdown rendering."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IngestSummary(BaseModel):
    """Counts for one ingestion run. ``seen`` = new + changed + unchanged + quarantined."""

    run_id: str
    kb: str
    source: str
    pipeline_version: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    chunks: int = Field(0, description="Chunks written by this run (new and changed documents).")
    tokens: int = Field(0, description="Tokens in the chunks written by this run.")
    total_chunks: int = Field(0, description="Chunks in the knowledge base after the run.")
    repaired: int = Field(0, description="Stray vectors removed by the end-of-run consistency check.")
    seconds: dict[str, float] = Field(default_factory=dict, description="Wall seconds per stage.")
    quality: dict[str, str] = Field(default_factory=dict, description="Each quality suite's verdict.")

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 3)

    @property
    def chunks_per_second(self) -> float:
        total = self.total_seconds
        return round(self.chunks / total, 1) if total > 0 else 0.0

    def count_rows(self) -> list[dict[str, str | int | float]]:
        """The counts as table rows, for the Prefect table artifact and the CLI."""
        rows: list[dict[str, str | int | float]] = [
            {"measure": name, "value": getattr(self, name)}
            for name in (
                "seen",
                "new",
                "changed",
                "unchanged",
                "deleted",
                "quarantined",
                "chunks",
                "tokens",
                "total_chunks",
                "repaired",
            )
        ]
        rows += [{"measure": f"seconds.{stage}", "value": secs} for stage, secs in self.seconds.items()]
        return rows

    def to_markdown(self) -> str:
        """A short report for the Prefect UI."""
        lines = [
            f"# Ingestion of `{self.source}` into knowledge base `{self.kb}`",
            "",
            f"Pipeline version `{self.pipeline_version}`, run `{self.run_id}`.",
            "",
            "| seen | new | changed | unchanged | deleted | quarantined | chunks | tokens |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.seen} | {self.new} | {self.changed} | {self.unchanged} | {self.deleted} | "
            f"{self.quarantined} | {self.chunks} | {self.tokens} |",
            "",
            "| stage | seconds |",
            "|---|---:|",
        ]
        lines += [f"| {stage} | {secs:.2f} |" for stage, secs in self.seconds.items()]
        lines += ["", f"Total {self.total_seconds:.2f} s, {self.chunks_per_second} chunks/s written.", ""]
        if self.quality:
            lines += ["| quality suite | verdict |", "|---|---|"]
            lines += [f"| {suite} | {verdict} |" for suite, verdict in self.quality.items()]
        if self.quarantined:
            lines += [
                "",
                f"{self.quarantined} document(s) quarantined: `genai quarantine list --kb {self.kb}`.",
            ]
        return "\n".join(lines)
