"""The run summary an ingestion run reports: counts, per-stage seconds, the files it quarantined, and its
markdown rendering for the Prefect UI."""

from __future__ import annotations

from pydantic import BaseModel, Field

# Below this many chunks an embedding rate mostly measures fixed costs (the first batch, thread start-up),
# not throughput, so it is not shown. The model's load has its own stage and never counts.
RATE_MIN_CHUNKS = 500
QUARANTINE_ROWS_SHOWN = 50


class QuarantinedFile(BaseModel):
    """One file the run refused, as the summary lists it."""

    source: str
    check: str
    reason: str


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
    quarantined_files: list[QuarantinedFile] = Field(
        default_factory=list, description="The files this run quarantined, with the failed checks and why."
    )

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 3)

    @property
    def embed_rate(self) -> float | None:
        """Chunks per second of the embed stage alone; None when the run embedded too few chunks for the
        figure to mean anything (a handful of files would show fixed costs as a slow rate)."""
        seconds = self.seconds.get("embed", 0.0)
        if self.chunks < RATE_MIN_CHUNKS or seconds <= 0:
            return None
        return round(self.chunks / seconds, 1)

    def quarantine_rows(self) -> list[dict[str, str]]:
        """The quarantined files as table rows, for the Prefect table artifact."""
        return [item.model_dump() for item in self.quarantined_files]

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
        ]
        # What a person must act on comes before the timings.
        lines += self._quarantine_markdown()
        lines += ["", "## Stages", "", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {stage} | {secs:.2f} |" for stage, secs in self.seconds.items()]
        rate = self.embed_rate
        lines += [
            "",
            f"Total {self.total_seconds:.2f} s" + (f", embedding {rate} chunks/s." if rate else "."),
            "",
        ]
        if self.quality:
            lines += ["| quality suite | verdict |", "|---|---|"]
            lines += [f"| {suite} | {_cell(verdict)} |" for suite, verdict in self.quality.items()]
        return "\n".join(lines)

    def _quarantine_markdown(self) -> list[str]:
        if not self.quarantined:
            return ["", "No document quarantined."]
        lines = [
            "",
            f"## {self.quarantined} document(s) quarantined",
            "",
            f"Fix each file and run again; `genai quarantine list --kb {self.kb}` shows the same list.",
            "",
            "| file | failed check | reason |",
            "|---|---|---|",
        ]
        shown = self.quarantined_files[:QUARANTINE_ROWS_SHOWN]
        lines += [f"| {_cell(f.source)} | {_cell(f.check)} | {_cell(f.reason)} |" for f in shown]
        if len(self.quarantined_files) > len(shown):
            lines += ["", f"... and {len(self.quarantined_files) - len(shown)} more."]
        return lines


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
