"""The ledger's and the audit log's writer process: batches written by a child at a lower priority, its
errors seen by the writer thread, a dead child replaced, and the setting that keeps writing in process."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.accounting.spool import Spool
from gateway.accounting.writer import BatchWriter
from gateway.accounting.writer_process import (
    CHILD_NICENESS,
    WriterProcess,
    WriterProcessError,
    write_usage_rows,
)
from gateway.policies.audit import AuditPolicy
from gateway.policies.ledger import LedgerPolicy
from genai.settings import Settings
from tests.gateway.accounting.test_writer_spool import _ids, _row, _wait


def where_am_i() -> tuple[int, int, object]:
    return os.getpid(), os.nice(0), signal.getsignal(signal.SIGINT)


def fail_like_a_database() -> None:
    raise ConnectionRefusedError("the database is down")


def die() -> None:
    os._exit(3)


@pytest.fixture
def process() -> Iterator[WriterProcess]:
    writer = WriterProcess("test")
    yield writer
    writer.close()


def test_the_batch_is_written_by_a_child_at_lower_priority_that_ignores_ctrl_c(
    process: WriterProcess,
) -> None:
    pid, niceness, on_sigint = process.run(where_am_i)
    assert pid != os.getpid()
    assert niceness == os.nice(0) + CHILD_NICENESS
    assert on_sigint == signal.SIG_IGN
    assert process.run(where_am_i)[0] == pid  # one child for every batch, not one per batch


def test_the_childs_error_is_raised_in_the_writer_thread(process: WriterProcess) -> None:
    with pytest.raises(ConnectionRefusedError, match="database is down"):
        process.run(fail_like_a_database)
    assert process.run(where_am_i)[0] != os.getpid()  # the child survives an error


def test_a_dead_child_is_a_failed_write_and_the_next_batch_gets_a_new_one(process: WriterProcess) -> None:
    first = process.run(where_am_i)[0]
    with pytest.raises(WriterProcessError, match="died"):
        process.run(die)
    second = process.run(where_am_i)[0]
    assert second != first


def test_a_closed_process_refuses_further_batches(process: WriterProcess) -> None:
    process.run(where_am_i)
    process.close()
    with pytest.raises(WriterProcessError, match="closed"):
        process.run(where_am_i)


def test_a_killed_child_costs_one_spooled_batch_and_no_row(
    sqlite_url: str, tmp_path: Path, process: WriterProcess
) -> None:
    writer = BatchWriter(
        "ledger",
        lambda rows, replayed: process.run(write_usage_rows, sqlite_url, rows, replayed),
        Spool(tmp_path / "spool"),
        batch_size=5,
        flush_seconds=0.05,
        replay_seconds=0.2,
    )
    writer.put(_row("before"))
    _wait(lambda: _ids(sqlite_url) == ["before"])
    os.kill(process.run(where_am_i)[0], signal.SIGKILL)  # the child dies between two batches
    failures_before = writer._failures._value.get()
    for number in range(12):
        writer.put(_row(f"after-{number}"))
    _wait(lambda: len(_ids(sqlite_url)) == 13 and writer.backlog() == 0)
    writer.close()
    assert writer._failures._value.get() == failures_before + 1
    assert sorted(_ids(sqlite_url)) == sorted(["before", *(f"after-{n}" for n in range(12))])
    assert process.run(where_am_i)[0] != os.getpid()


def test_writer_thread_setting_keeps_writing_in_process(genai_home: Path) -> None:
    settings = Settings(accounting={"writer": "thread"})
    assert LedgerPolicy.from_settings(settings).process is None
    assert AuditPolicy.from_settings(settings).process is None
    default = Settings()
    assert LedgerPolicy.from_settings(default).process is not None
    assert AuditPolicy.from_settings(default).process is not None
