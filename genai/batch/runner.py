"""Send a batch's requests to the gateway with a bounded number in flight, journalling each answer.

``serve_requests`` is a plain async function: the flow calls it once per slice of the input. Every
request goes over HTTP to the gateway (so auth, limits, the cache, the ledger apply to batch traffic),
with ``x-request-id: <prefix>-<custom_id>`` for attribution (the gateway keeps it as the client request
id, beside its own) and the cache policy's opt-in header (``cache.opt_in_header``, by default
``x-genai-cache-opt-in``), so that a request re-sent after a hard kill, whose answer the gateway had
already finished but the journal had not yet recorded, is served from the gateway's cache, not the model.

The journal is an append-only JSONL file: one finished output line per custom_id, written and flushed
(fsync) as each answer arrives. A run started again over the same journal skips what it holds, so a run
killed midway loses nothing and sends no finished request twice; a torn last line (the kill landed in the
middle of a write) is ignored and its request sent again. Only final answers are journalled: a timeout,
an unreachable gateway, a 408, 409, 429 or 5xx goes to this run's error file but is sent again by the
next run over the same journal, since a later attempt may well succeed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from genai.batch.format import BatchOutputLine, BatchRequestLine, BatchResponse, error_line

CACHE_OPT_IN_HEADER = "x-genai-cache-opt-in"  # CacheSettings.opt_in_header's default
# Refusals a later attempt may not meet: a busy or broken gateway or worker, a timed-out request.
RETRYABLE_STATUS = frozenset({408, 409, 429})
TRANSIENT_ERRORS = frozenset({"timeout", "gateway_unreachable"})


def is_final(line: BatchOutputLine) -> bool:
    """Whether ``line`` is the request's last word (journalled, never sent again): an answer or a refusal
    that would be the same next time; not a timeout, an unreachable gateway, a 408/409/429 or a 5xx."""
    if line.response is not None:
        status = line.response.status_code
        return status < 500 and status not in RETRYABLE_STATUS
    return line.error is None or line.error.code not in TRANSIENT_ERRORS


class Journal:
    """The finished output lines of one batch (or one input), kept in a local JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: Any = None

    def load(self) -> dict[str, BatchOutputLine]:
        """custom_id -> its finished line; the first record of a custom_id wins, a torn line is skipped."""
        done: dict[str, BatchOutputLine] = {}
        if not self.path.exists():
            return done
        with self.path.open("rb") as handle:
            for raw in handle:
                try:
                    line = BatchOutputLine.model_validate_json(raw)
                except ValueError:
                    continue  # the half-written line of a killed run
                done.setdefault(line.custom_id, line)
        return done

    def append(self, line: BatchOutputLine) -> None:
        if self._handle is None:
            self._terminate_torn_line()
            self._handle = self.path.open("ab")
        self._handle.write(line.to_json().encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def _terminate_torn_line(self) -> None:
        # A kill mid-write leaves a line without its newline: end it, so the next record starts clean.
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb+") as handle:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass(frozen=True)
class RunnerOptions:
    """Where and how hard to send: the gateway's base URL, the key, requests in flight."""

    gateway_url: str
    api_key: str | None = None
    concurrency: int = 8
    timeout_seconds: float = 600.0
    request_id_prefix: str = "batch"
    cache_opt_in_header: str = CACHE_OPT_IN_HEADER


@dataclass
class SliceOutcome:
    """What one call served: the lines written (answers and errors), seconds spent sending, and seconds
    spent waiting for the pool's slots before (set by the caller that holds them)."""

    lines: list[BatchOutputLine] = field(default_factory=list)
    seconds: float = 0.0
    waited_seconds: float = 0.0  # before sending: waiting for the pool's concurrency slots

    @property
    def failed(self) -> int:
        return sum(not line.succeeded for line in self.lines)


def _headers(options: RunnerOptions) -> dict[str, str]:
    headers = {options.cache_opt_in_header: "true"}
    if options.api_key:
        headers["authorization"] = f"Bearer {options.api_key}"
    return headers


async def _send(
    client: httpx.AsyncClient, request: BatchRequestLine, options: RunnerOptions
) -> BatchOutputLine:
    request_id = f"{options.request_id_prefix}-{request.custom_id}"
    body = {**request.body, "stream": False}  # a batch line's answer is one JSON body
    try:
        response = await client.post(request.url, json=body, headers={"x-request-id": request_id})
    except httpx.TimeoutException:
        return error_line(request.custom_id, "timeout", f"no answer within {options.timeout_seconds:g} s")
    except httpx.HTTPError as error:
        return error_line(request.custom_id, "gateway_unreachable", f"{type(error).__name__}: {error}")
    try:
        payload: Any = response.json()
    except ValueError:
        payload = {"error": {"message": response.text[:2000]}}
    answered_id = response.headers.get("x-request-id", request_id)
    return BatchOutputLine(
        custom_id=request.custom_id,
        response=BatchResponse(status_code=response.status_code, request_id=answered_id, body=payload),
    )


async def serve_requests(
    requests: Sequence[BatchRequestLine],
    journal: Journal,
    options: RunnerOptions,
    on_line: Callable[[BatchOutputLine], None] | None = None,
) -> SliceOutcome:
    """Send ``requests`` (none already in ``journal``: the caller skips those) at most
    ``options.concurrency`` at a time; each final answer (``is_final``) is journalled as soon as it
    arrives, the others are only returned."""
    outcome = SliceOutcome()
    if not requests:
        return outcome
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    timeout = httpx.Timeout(options.timeout_seconds, connect=min(10.0, options.timeout_seconds))
    queue: asyncio.Queue[BatchRequestLine] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            line = await _send(client, request, options)
            if is_final(line):
                journal.append(line)
            outcome.lines.append(line)
            if on_line is not None:
                on_line(line)

    async with httpx.AsyncClient(
        base_url=options.gateway_url.rstrip("/"), headers=_headers(options), limits=limits, timeout=timeout
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(min(options.concurrency, len(requests)))))
    outcome.seconds = time.perf_counter() - started
    return outcome


def split_outputs(lines: Sequence[BatchOutputLine]) -> tuple[list[BatchOutputLine], list[BatchOutputLine]]:
    """(results, errors): 2xx answers go to the output file, everything else to the error file."""
    results = [line for line in lines if line.succeeded]
    errors = [line for line in lines if not line.succeeded]
    return results, errors


def to_jsonl(lines: Sequence[BatchOutputLine]) -> bytes:
    return b"".join(line.to_json().encode() + b"\n" for line in lines)


def journal_key(batch_id: str | None, input_ref: str) -> str:
    """The journal's name: the batch id, else a stable name of the input (a rerun of the same input
    resumes)."""
    if batch_id:
        return batch_id
    import hashlib

    return "input-" + hashlib.sha256(input_ref.encode()).hexdigest()[:16]


def dumps_summary(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)
