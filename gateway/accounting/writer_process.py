"""The child process that writes ledger and audit batches, so that their Python work never competes with
the event loop for the GIL.

A 200-row batch is a few milliseconds of Python (SQLAlchemy's parameter processing, the audit chain's
hashing). Written by a thread of the gateway process, that work holds the GIL while the event loop asks
for it after every wait: each request in flight then pays up to a switch interval per await, several times
a second under load, which is the p99 (docs/benchmarks/gateway.md). Written by a child process, the same
work is the kernel's to schedule: the child runs at a lower priority (nice 10), so a waking event loop
takes the core back at once.

``WriterProcess.run`` is called by a ``BatchWriter`` thread: it sends the batch to the child and blocks
that thread (not the loop) until the child answers. The child is started on first use from a forkserver
(cheap for a second writer, and safe in a process with threads), ignores Ctrl-C so that the gateway's own
shutdown can still write what is queued, and is started again after it dies: a batch whose child died is
a failed write, which the writer spools and replays like a database outage, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHILD_NICENESS = 10
CONTEXT = "forkserver"
# Imported once by the forkserver, so that each child it forks starts with them in memory.
PRELOAD = ["gateway.accounting.rows", "gateway.accounting.audit_log", "genai.db"]


class WriterProcessError(RuntimeError):
    """The child process died or could not start; the batch counts as not written."""


def _child_started() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when writing stops
    with contextlib.suppress(OSError):  # not allowed here: the child works at the parent's priority
        os.nice(CHILD_NICENESS)


class WriterProcess:
    """One child process for one log's batches, started when first needed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in the child and wait for it; its exception is raised here."""
        executor = self._current()
        try:
            return executor.submit(function, *args).result()
        except BrokenProcessPool as error:
            self._discard(executor)
            raise WriterProcessError(f"{self.name} writer process died: {error}") from error

    def close(self) -> None:
        """Stop the child after the batch it is writing (blocking: call it off the event loop)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise WriterProcessError(f"{self.name} writer process is closed")
            if self._executor is None:
                import multiprocessing

                context = multiprocessing.get_context(CONTEXT)
                context.set_forkserver_preload(PRELOAD)  # no effect once the forkserver runs
                self._executor = ProcessPoolExecutor(1, mp_context=context, initializer=_child_started)
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)
        logger.warning("%s writer process died; a new one starts with the next batch", self.name)


def write_usage_rows(database_url: str, rows: list[dict[str, Any]], replayed: bool) -> None:
    """Insert ledger rows (in the child): the same function the thread mode calls in process."""
    from gateway.accounting.rows import insert_usage
    from genai.db import get_engine

    del replayed  # insert_usage skips request ids already written either way
    with get_engine(database_url).begin() as connection:
        insert_usage(connection, rows)


def write_audit_rows(database_url: str, rows: list[dict[str, Any]], replayed: bool) -> None:
    """Append audit entries to the hash chain (in the child), under the log's write lock."""
    from gateway.accounting.audit_log import write_audit
    from genai.db import get_engine

    write_audit(get_engine(database_url), rows, replayed)
