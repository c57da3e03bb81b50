"""What one run of the batch serving flow did: counts, time, throughput and the output check, as a typed
record (returned by the flow, stored by the catalog) and as the markdown of its Prefect artifact."""

from __future__ import annotations

from pydantic import BaseModel, Field


class BatchSummary(BaseModel):
    """One run over one input. ``total`` = ``completed`` + ``failed`` + ``invalid`` + ``not_sent``."""

    journal_key: str = Field(description="The journal the run resumed from and wrote to.")
    endpoint: str
    batch_id: str | None = None
    total: int = Field(0, description="Request lines in the input file (blank lines aside).")
    completed: int = Field(0, description="Requests answered with a 2xx (the results file).")
    failed: int = Field(0, description="Requests sent and refused or not answered (the errors file).")
    invalid: int = Field(0, description="Lines the input suite refused, never sent (the errors file).")
    not_sent: int = Field(0, description="Valid requests left unsent: the batch was cancelled.")
    sent: int = Field(0, description="Requests this run sent (the rest came from the journal).")
    resumed: int = Field(0, description="Answers taken from the journal of an earlier, stopped run.")
    seconds: float = Field(0.0, description="Wall time of the whole run.")
    serving_seconds: float = Field(0.0, description="Time spent sending this run's requests.")
    waiting_seconds: float = Field(0.0, description="Time spent waiting for the pool's concurrency slots.")
    throughput: float = Field(0.0, description="Requests sent per second of serving.")
    output_failures: list[str] = Field(default_factory=list, description="What the output suite found.")
    cancelled: bool = False

    def to_markdown(self) -> str:
        """The summary artifact: counts first, then the output check."""
        title = f"# Batch `{self.batch_id}`" if self.batch_id else f"# Batch `{self.journal_key}`"
        state = "cancelled, partial results published" if self.cancelled else "finished"
        rows = [
            ("requests in the file", self.total),
            ("completed (results file)", self.completed),
            ("failed (errors file)", self.failed),
            ("invalid input lines (errors file)", self.invalid),
            ("not sent (cancelled)", self.not_sent),
            ("sent by this run", self.sent),
            ("taken from the journal", self.resumed),
        ]
        table = "\n".join(f"| {name} | {value} |" for name, value in rows)
        check = (
            "\n".join(f"- {failure}" for failure in self.output_failures)
            if self.output_failures
            else "Every output check passed."
        )
        return (
            f"{title}\n\n{self.endpoint}, {state}.\n\n| | requests |\n|---|---:|\n{table}\n\n"
            f"{self.seconds:.2f} s in all, {self.serving_seconds:.2f} s serving, "
            f"{self.waiting_seconds:.2f} s waiting for the pool's slots: "
            f"{self.throughput:.1f} requests/s.\n\n## Output check\n\n{check}\n"
        )
