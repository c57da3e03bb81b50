"""Batches the database could not take, kept on local disk until it can.

One file per batch under ``spool_dir/<log>/`` (``ledger`` or ``audit``), named
``<time_ns>-<rows>-<random>.json`` so that files replay oldest first and the backlog is counted without
reading them. A file is written to a temporary name, fsynced, renamed into place and the directory
fsynced: after a crash a batch is either whole on disk or not there (and then still in memory, or never
acknowledged). A file is deleted only after the database committed its rows; replaying a file twice is
harmless (the ledger skips request ids already written, the audit writer skips entries already chained),
so several gateway processes may share one spool directory.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_SUFFIX = ".json"


def _rows_in(path: Path) -> int:
    try:
        return int(path.name.split("-")[1])
    except (IndexError, ValueError):
        return 0


class Spool:
    """The spooled batches of one log."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._rows: int | None = None  # spooled rows, counted from the names on first use

    def _ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def save(self, rows: list[dict[str, Any]]) -> Path:
        """Keep ``rows`` as one new batch file, durably, before returning."""
        self._ensure()
        name = f"{time.time_ns():020d}-{len(rows)}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(json.dumps({"rows": rows}, separators=(",", ":")).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        self._fsync_directory()
        with self._lock:
            if self._rows is not None:
                self._rows += len(rows)
        return final

    def _fsync_directory(self) -> None:
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def batches(self) -> list[Path]:
        """The spooled batch files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(path for path in self.directory.iterdir() if path.name.endswith(_SUFFIX))

    @staticmethod
    def load(path: Path) -> list[dict[str, Any]] | None:
        """The rows of a batch file; None when another process replayed and removed it meanwhile."""
        try:
            rows: list[dict[str, Any]] = json.loads(path.read_bytes())["rows"]
        except FileNotFoundError:
            return None
        return rows

    def load_or_quarantine(self, path: Path, log: str) -> list[dict[str, Any]] | None:
        """``load``, but a file that is not a batch (cut short by a full disk, edited by hand) is renamed
        to ``*.bad`` and reported instead of blocking the replay forever."""
        try:
            return self.load(path)
        except (ValueError, KeyError, TypeError, OSError):
            logger.error("%s: spooled batch %s is unreadable; moved aside as .bad", log, path)
            try:
                path.rename(path.with_name(path.name + ".bad"))
            except OSError:
                logger.exception("%s: could not move %s aside", log, path)
            self.recount()
            return None

    def remove(self, path: Path) -> None:
        """Drop a batch whose rows the database committed."""
        try:
            path.unlink()
        except FileNotFoundError:
            return  # another process replayed it too
        with self._lock:
            if self._rows is not None:
                self._rows = max(0, self._rows - _rows_in(path))

    def rows(self) -> int:
        """Rows waiting on disk (counted from the file names once, then kept up to date)."""
        with self._lock:
            if self._rows is None:
                self._rows = sum(_rows_in(path) for path in self.batches())
            return self._rows

    def recount(self) -> int:
        """Count again from the directory (other processes may have replayed our files)."""
        with self._lock:
            self._rows = None
        return self.rows()
