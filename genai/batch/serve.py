"""Batch serving as plain functions: the steps the ``serve_batch`` flow runs, with no Prefect in them.

``prepare`` reads an input file (bytes) and runs the input suite: good lines to serve, bad lines turned
into ``invalid_request`` error lines naming the line number and the reason. ``pending`` leaves out what
the journal already holds (a run stopped midway resumes), ``slices`` cuts the rest into the units that
hold the pool's concurrency slots and between which a cancellation is seen, ``serve_slice`` sends one
slice through ``runner.serve_requests``, and ``collect`` builds the results and errors files (in input
order, one line per custom_id) from the journal, runs the output suite and fills the summary.

The journal lives under the platform home: ``<home>/batch/journals/<journal_key>.jsonl``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genai.batch.format import BatchOutputLine, BatchRequestLine, error_line, parse_lines
from genai.batch.input_suite import BadLine, check_input
from genai.batch.output_suite import check_output
from genai.batch.runner import Journal, RunnerOptions, SliceOutcome, journal_key, serve_requests, to_jsonl
from genai.batch.summary import BatchSummary
from genai.settings.batch import BatchSettings
from genai.settings.cache import CacheSettings
from genai.settings.gateway import GatewaySettings

INVALID_REQUEST = "invalid_request"


@dataclass
class PreparedBatch:
    """An input file after the input suite: what to serve, in file order, and what was refused."""

    key: str
    endpoint: str
    batch_id: str | None
    good: list[tuple[int, BatchRequestLine]]
    bad: list[BadLine]
    invalid: list[BatchOutputLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.good) + len(self.bad)


@dataclass
class BatchOutputs:
    """The two output files (JSONL bytes, OpenAI's batch output format) and the run's summary."""

    results: bytes
    errors: bytes
    summary: BatchSummary


def prepare(data: bytes, endpoint: str, batch_id: str | None = None) -> PreparedBatch:
    """Parse ``data`` and run the input suite; the journal key is the batch id, else the input's hash and
    endpoint (so running the same file again resumes the same journal)."""
    check = check_input(parse_lines(data.splitlines()), [endpoint])
    ref = f"{endpoint}:{hashlib.sha256(data).hexdigest()}"
    invalid = [
        # A line without a readable custom_id gets an empty one: its line number says which it was.
        error_line(bad.custom_id or "", INVALID_REQUEST, f"line {bad.number}: {bad.reason}")
        for bad in check.bad
    ]
    return PreparedBatch(journal_key(batch_id, ref), endpoint, batch_id, check.good, check.bad, invalid)


@dataclass
class Progress:
    """Where a batch stands for its catalog record (OpenAI's request_counts): refused input lines count as
    failed."""

    total: int
    completed: int = 0
    failed: int = 0

    def add(self, outcome: SliceOutcome) -> None:
        answered = sum(line.succeeded for line in outcome.lines)
        self.completed += answered
        self.failed += len(outcome.lines) - answered


def progress(prepared: PreparedBatch, journal_file: Path) -> Progress:
    """The counts before this run sends anything: the journal's answers and the refused lines."""
    done = Journal(journal_file).load()
    served = [done[request.custom_id] for _, request in prepared.good if request.custom_id in done]
    answered = sum(line.succeeded for line in served)
    return Progress(prepared.total, answered, len(served) - answered + len(prepared.invalid))


def journal_path(home: Path, key: str) -> Path:
    return home / "batch" / "journals" / f"{key}.jsonl"


def pending(prepared: PreparedBatch, journal_file: Path) -> list[BatchRequestLine]:
    """The good requests the journal holds no final answer for, in file order."""
    done = Journal(journal_file).load()
    return [request for _, request in prepared.good if request.custom_id not in done]


def slices(requests: Sequence[BatchRequestLine], size: int) -> list[list[BatchRequestLine]]:
    if size < 1:
        raise ValueError(f"a slice holds at least one request; got {size}")
    return [list(requests[start : start + size]) for start in range(0, len(requests), size)]


def gateway_base_url(batch: BatchSettings, gateway: GatewaySettings) -> str:
    """``batch.gateway_url``, else the configured gateway (one bound to every interface is reached on the
    loopback one)."""
    if batch.gateway_url:
        return batch.gateway_url.rstrip("/")
    host = "127.0.0.1" if gateway.host in {"0.0.0.0", "::", ""} else gateway.host
    return f"http://{host}:{gateway.port}"


def runner_options(
    batch: BatchSettings,
    gateway: GatewaySettings,
    cache: CacheSettings,
    *,
    concurrency: int,
    api_key: str | None = None,
    request_id_prefix: str = "batch",
    gateway_url: str | None = None,
) -> RunnerOptions:
    """How the runner sends: to the gateway, with the cache policy's own opt-in header name."""
    return RunnerOptions(
        gateway_url=gateway_url or gateway_base_url(batch, gateway),
        api_key=api_key,
        concurrency=concurrency,
        timeout_seconds=batch.request_timeout_seconds,
        request_id_prefix=request_id_prefix,
        cache_opt_in_header=cache.opt_in_header,
    )


def serve_slice(
    requests: Sequence[BatchRequestLine], journal_file: Path, options: RunnerOptions
) -> SliceOutcome:
    """Send one slice; every final answer is in the journal (fsync'd) before this returns."""
    journal = Journal(journal_file)
    try:
        return asyncio.run(serve_requests(requests, journal, options))
    finally:
        journal.close()


def collect(
    prepared: PreparedBatch,
    journal_file: Path,
    this_run: Sequence[BatchOutputLine],
    sent: int,
    serving_seconds: float,
    cancelled: bool = False,
) -> BatchOutputs:
    """The output files from the journal (first answer per custom_id wins) plus this run's answers the
    journal does not keep (transient failures), the output suite's verdict and the summary."""
    done = Journal(journal_file).load()
    for line in this_run:
        done.setdefault(line.custom_id, line)
    served = [done[request.custom_id] for _, request in prepared.good if request.custom_id in done]
    results = [line for line in served if line.succeeded]
    failed = [line for line in served if not line.succeeded]
    summary = BatchSummary(
        journal_key=prepared.key,
        endpoint=prepared.endpoint,
        batch_id=prepared.batch_id,
        total=prepared.total,
        completed=len(results),
        failed=len(failed),
        invalid=len(prepared.invalid),
        not_sent=len(prepared.good) - len(served),
        sent=sent,
        resumed=max(0, len(served) - sent),
        serving_seconds=round(serving_seconds, 3),
        throughput=round(sent / serving_seconds, 2) if serving_seconds > 0 else 0.0,
        output_failures=check_output(served, len(served) if cancelled else len(prepared.good)),
        cancelled=cancelled,
    )
    return BatchOutputs(to_jsonl(results), to_jsonl([*prepared.invalid, *failed]), summary)
