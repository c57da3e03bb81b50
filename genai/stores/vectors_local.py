"""Qdrant local mode across processes: open the storage folder only while writing, under a file lock.

Local mode lets one client at a time open a folder (the client takes its own lock and refuses a second
one), and it reads the whole folder when it opens. Parallel ingestion shards on the embedded default are
separate processes, so each opens the folder only for the few calls of one write (a window's upsert and
stale-point delete), under an exclusive ``flock`` on a lock file of ours next to the data: the shards
parse, chunk and embed in parallel and take turns at the write. Opening reads the collection again, which
costs time that grows with its size; a Qdrant server (``qdrant.url``) needs none of this and is the
answer for large knowledge bases.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from genai.stores.errors import TransientStoreError

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

LOCK_FILE = ".genai-writer.lock"  # not Qdrant's own ".lock", which its client holds while open


def open_local_client(folder: Path) -> QdrantClient:
    """A local-mode client of ``folder``; a folder held by another process is a transient failure."""
    from qdrant_client import QdrantClient

    folder.mkdir(parents=True, exist_ok=True)
    try:
        # Flow tasks run in worker threads. Where SQLite is built without full thread safety (macOS) the
        # client would refuse them; the callers' locks are what make sharing safe.
        return QdrantClient(path=str(folder), force_disable_check_same_thread=True)
    except RuntimeError as error:
        if "already accessed" not in str(error):
            raise
        # Like a locked database: it passes when the other process lets go of the folder.
        raise TransientStoreError(
            f"Qdrant local storage {folder} is in use by another process (local mode allows one at a "
            f"time; set qdrant.url to a Qdrant server for concurrent access)"
        ) from error


class ExclusiveLocalClient:
    """A local-mode client opened on demand: ``hold()`` opens the folder under the cross-process lock and
    closes it when the outermost ``hold()`` of this process ends (nested holds reuse the open client)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.expanduser().resolve()
        self._lock = threading.RLock()  # the client is not thread-safe; one thread at a time holds it
        self._depth = 0
        self._client: QdrantClient | None = None
        self._fd: int | None = None

    @contextmanager
    def hold(self) -> Iterator[QdrantClient]:
        with self._lock:
            if self._depth == 0:
                self._open()
            self._depth += 1
            try:
                assert self._client is not None
                yield self._client
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._close()

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another process writes; a dead one lets go
            self._client = open_local_client(self.folder)
        except BaseException:
            os.close(fd)  # closing the descriptor releases the lock
            raise
        self._fd = fd

    def _close(self) -> None:
        client, fd = self._client, self._fd
        self._client, self._fd = None, None
        try:
            if client is not None:
                client.close()
        finally:
            if fd is not None:
                os.close(fd)
