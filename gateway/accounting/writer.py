"""The background writer of the ledger and the audit log: rows queued by the event loop, written in
batches by a thread of their own, spooled to disk while the database is away, replayed once it is back.

``put`` (the record hook, on the event loop) only appends to a deque, and wakes the thread when a whole
batch is waiting. The thread writes every ``flush_seconds`` (or at once for a full batch). A batch the
database refused goes to the ``Spool`` and the writer counts the database as down: further batches go
straight to disk, so that a dead database costs one failed attempt per ``replay_seconds``, not one per
batch. Every ``replay_seconds`` the oldest spooled batch is tried again; when it commits its file is
deleted and the rest follow; only when the spool is empty do batches go to the database directly again.
``close`` writes (or spools) what is left: the app's shutdown awaits it.

A write that fails after its commit reached the database (the connection dropped before the answer)
leaves a spooled batch whose rows are already there: the ``write`` functions skip rows already written
(``replayed=True`` says a batch comes from the spool), so none is lost and none is written twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from gateway.accounting.spool import Spool
from gateway.telemetry.metrics import LEDGER_BACKLOG, LEDGER_WRITE_FAILURES

logger = logging.getLogger(__name__)

Row = dict[str, Any]
WriteBatch = Callable[[list[Row], bool], None]  # (rows, replayed from the spool)
CLOSE_TIMEOUT_S = 30.0


class BatchWriter:
    """Rows of one log (``name``: "ledger" or "audit") on their way to the database."""

    def __init__(
        self,
        name: str,
        write: WriteBatch,
        spool: Spool,
        batch_size: int,
        flush_seconds: float,
        replay_seconds: float,
    ) -> None:
        self.name, self.spool = name, spool
        self._write = write
        self.batch_size, self.flush_seconds, self.replay_seconds = batch_size, flush_seconds, replay_seconds
        self._queue: deque[Row] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._down = False  # the last write failed: batches go to the spool until a replay succeeds
        self._next_replay = 0.0  # monotonic time of the next replay attempt
        self.written = 0  # rows committed by this writer (fresh and replayed)
        self._failures = LEDGER_WRITE_FAILURES.labels(name)
        LEDGER_BACKLOG.labels(name).set_function(self.backlog)
        if self.spool.rows():  # batches a previous run left behind: replay them without waiting for traffic
            self._start()

    # -- the event loop's side -------------------------------------------------------------------------

    def put(self, row: Row) -> None:
        """Queue ``row``; never blocks on I/O (but for a request that finishes after ``close``)."""
        if self._stopping.is_set():  # the writer is gone: straight to the spool, for the next start
            try:
                self.spool.save([row])
            except OSError:
                logger.exception("%s: a row after close was lost (the spool refused it)", self.name)
            return
        self._queue.append(row)
        if self._thread is None:
            self._start()
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def backlog(self) -> int:
        """Rows not yet in the database: queued in memory plus spooled on disk."""
        return len(self._queue) + self.spool.rows()

    @property
    def down(self) -> bool:
        return self._down

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stopping.is_set():
                thread = threading.Thread(target=self._run, name=f"genai-{self.name}-writer", daemon=True)
                thread.start()
                self._thread = thread

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Write or spool every queued row, then stop the thread (blocking: run it off the loop)."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.error("%s writer still busy after %.0f s: spooling the queue", self.name, timeout)
        self._spool_queue()  # a writer that never started, or one stuck on the database

    # -- the thread's side -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            if not stopping:
                self._wake.wait(self.flush_seconds)
                self._wake.clear()
            try:
                self._replay_if_due(final=stopping)
                self._drain()
            except Exception:  # never let the thread die: the next cycle tries again
                logger.exception("%s writer cycle failed", self.name)
                time.sleep(min(self.flush_seconds, 1.0))
            if stopping:
                return

    def _take(self) -> list[Row]:
        batch: list[Row] = []
        queue = self._queue
        try:
            while len(batch) < self.batch_size:
                batch.append(queue.popleft())
        except IndexError:
            pass
        return batch

    def _drain(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return
            if not self._down:
                try:
                    self._write(batch, False)
                    self.written += len(batch)
                    continue
                except Exception as error:
                    self._went_down(error)
            if not self._save(batch):
                return

    def _save(self, batch: list[Row]) -> bool:
        try:
            self.spool.save(batch)
            return True
        except OSError:
            logger.exception("%s spool %s refused a batch: kept in memory", self.name, self.spool.directory)
            self._queue.extendleft(reversed(batch))
            time.sleep(min(self.replay_seconds, 1.0))
            return False

    def _went_down(self, error: Exception) -> None:
        self._failures.inc()
        if not self._down:
            logger.warning(
                "%s: database write failed (%s: %s); spooling to %s, retrying every %.0f s",
                self.name,
                type(error).__name__,
                str(error).splitlines()[0] if str(error) else "",
                self.spool.directory,
                self.replay_seconds,
            )
        self._down = True
        self._next_replay = time.monotonic() + self.replay_seconds

    def _replay_if_due(self, final: bool = False) -> None:
        if time.monotonic() < self._next_replay and not (final and not self._down):
            return
        self._next_replay = time.monotonic() + self.replay_seconds
        for path in self.spool.batches():
            rows = self.spool.load_or_quarantine(path, self.name)
            if rows is None:
                continue
            try:
                self._write(rows, True)
            except Exception as error:
                self._went_down(error)
                return
            self.spool.remove(path)
            self.written += len(rows)
        if self._down:
            logger.warning("%s: database back; spooled batches replayed", self.name)
        self._down = False
        self.spool.recount()

    def _spool_queue(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return
            try:
                self.spool.save(batch)
            except OSError:
                logger.exception("%s: %d rows lost at shutdown (spool refused)", self.name, len(batch))
                return
