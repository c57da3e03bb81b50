"""The batch writer and its disk spool on a real SQLite ledger: batches, flush interval, spooling while
writes fail, replay once they succeed, nothing written twice, close() flushing what is left."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.accounting.rows import Row, fit_request_id, insert_usage, now_iso
from gateway.accounting.spool import Spool
from gateway.accounting.writer import BatchWriter
from genai.db import UsageRow, get_engine


def _row(request_id: str) -> Row:
    return {
        "request_id": request_id,
        "created_at": now_iso(),
        "route": "/v1/chat/completions",
        "status": 200,
        "latency_ms": 1.0,
        "attempts": 1,
        "fallbacks": 0,
        "cache_hit": False,
        "model": "m" * 400,  # longer than its column: cut, not refused
    }


def _ids(url: str) -> list[str]:
    with get_engine(url).connect() as connection:
        return list(connection.scalars(select(UsageRow.request_id)))


def _count(url: str) -> int:
    with get_engine(url).connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(UsageRow)) or 0)


class Ledger:
    """The real ledger write; ``fail`` > 0 makes that many next writes raise, ``commit_then_fail``
    makes them commit and then raise (the answer to the commit lost)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fail = 0
        self.commit_then_fail = 0
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, rows: list[Row], replayed: bool) -> None:
        self.calls.append((len(rows), replayed))
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database unreachable (injected)")
        with get_engine(self.url).begin() as connection:
            insert_usage(connection, rows)
        if self.commit_then_fail:
            self.commit_then_fail -= 1
            raise ConnectionError("connection lost after the commit (injected)")


def _writer(ledger: Ledger, spool_dir: Path, **options: Any) -> BatchWriter:
    settings = {"batch_size": 50, "flush_seconds": 0.05, "replay_seconds": 0.1, **options}
    return BatchWriter("ledger", ledger, Spool(spool_dir), **settings)


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def test_batches_and_close_flushes(sqlite_url: str, tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url)
    writer = _writer(ledger, tmp_path / "spool", flush_seconds=30.0)
    for index in range(120):
        writer.put(_row(f"r{index}"))
    started = time.monotonic()
    _wait(lambda: _count(sqlite_url) == 120)  # a full batch wakes the writer: not after 30 s
    assert time.monotonic() - started < 10
    assert writer.backlog() == 0
    writer.put(_row("last"))
    writer.close()
    assert _count(sqlite_url) == 121
    assert sorted(_ids(sqlite_url)) == sorted([*(f"r{index}" for index in range(120)), "last"])
    assert all(size <= 50 for size, _ in ledger.calls)
    assert writer.backlog() == 0


def test_flush_interval_writes_a_partial_batch(sqlite_url: str, tmp_path: Path) -> None:
    writer = _writer(Ledger(sqlite_url), tmp_path / "spool")
    writer.put(_row("only-one"))
    _wait(lambda: _count(sqlite_url) == 1, timeout=5)
    writer.close()


def test_fault_database_down_spools_then_replays(sqlite_url: str, tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url)
    ledger.fail = 3  # the first write and two replays fail
    writer = _writer(ledger, tmp_path / "spool")
    for index in range(130):
        writer.put(_row(f"r{index}"))
    _wait(lambda: writer.down)
    assert writer.spool.rows() > 0 and writer.backlog() > 0
    _wait(lambda: not writer.down and writer.spool.rows() == 0)
    for index in range(130, 140):
        writer.put(_row(f"r{index}"))
    writer.close()
    ids = _ids(sqlite_url)
    assert len(ids) == len(set(ids)) == 140
    assert writer.spool.batches() == []
    assert any(replayed for _, replayed in ledger.calls)


def test_fault_commit_answer_lost_is_not_written_twice(sqlite_url: str, tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url)
    ledger.commit_then_fail = 1
    writer = _writer(ledger, tmp_path / "spool")
    for index in range(40):
        writer.put(_row(f"r{index}"))
    _wait(lambda: writer.down)
    _wait(lambda: not writer.down)
    writer.close()
    assert _count(sqlite_url) == 40  # the replayed batch found its rows there and skipped them


def test_close_while_down_spools_everything(sqlite_url: str, tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url)
    ledger.fail = 10_000
    writer = _writer(ledger, tmp_path / "spool", replay_seconds=60)
    for index in range(75):
        writer.put(_row(f"r{index}"))
    writer.close()
    assert writer.spool.rows() == 75
    # The next process replays it: a new writer on the same spool, the database back.
    again = Ledger(sqlite_url)
    second = _writer(again, tmp_path / "spool")
    second.put(_row("later"))
    _wait(lambda: _count(sqlite_url) == 76)
    second.close()
    assert Spool(tmp_path / "spool").batches() == []


def test_spool_file_is_whole_and_counted_by_name(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    path = spool.save([_row("a"), _row("b")])
    assert [p.name for p in (tmp_path / "s").iterdir()] == [path.name]  # no temporary left behind
    assert Spool(tmp_path / "s").rows() == 2
    assert [row["request_id"] for row in Spool.load(path) or []] == ["a", "b"]
    spool.remove(path)
    assert spool.rows() == 0 and spool.batches() == []


def test_unreadable_spool_file_is_moved_aside(sqlite_url: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    (spool_dir / "00000000000000000001-5-bad.json").write_text('{"rows": [')
    writer = _writer(Ledger(sqlite_url), spool_dir)
    writer.put(_row("fine"))
    writer.close()
    assert _ids(sqlite_url) == ["fine"]
    assert [p.name for p in spool_dir.iterdir()] == ["00000000000000000001-5-bad.json.bad"]


@pytest.mark.parametrize("length", [64, 65, 128])
def test_long_request_ids_stay_distinct(length: int) -> None:
    first, second = "a" * (length - 1) + "x", "a" * (length - 1) + "y"
    assert len(fit_request_id(first)) <= 64
    assert fit_request_id(first) != fit_request_id(second)
    assert fit_request_id(first) == fit_request_id(first)


def test_row_after_close_is_spooled_and_replayed_at_next_start(sqlite_url: str, tmp_path: Path) -> None:
    writer = _writer(Ledger(sqlite_url), tmp_path / "spool")
    writer.put(_row("in-time"))
    writer.close()
    writer.put(_row("late"))  # a request that finished during shutdown
    assert Spool(tmp_path / "spool").rows() == 1
    second = _writer(Ledger(sqlite_url), tmp_path / "spool")  # no traffic: it replays on its own
    _wait(lambda: _count(sqlite_url) == 2)
    second.close()
    assert sorted(_ids(sqlite_url)) == ["in-time", "late"]
