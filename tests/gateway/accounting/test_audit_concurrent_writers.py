"""Several gateway processes appending to one audit log still form one chain: two processes write
interleaved batches at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: the table lock), and the whole chain
verifies with every entry in it exactly once."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from genai.accounting.audit import verify_chain
from genai.db import AuditEntryRow, get_engine

PER_PROCESS, BATCH = 300, 15

_WRITER = """
import sys
from gateway.accounting.audit_log import write_audit
from gateway.accounting.rows import now_iso
from genai.db import get_engine

url, name, total, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
engine = get_engine(url)
for start in range(0, total, batch):
    rows = [
        {"at": now_iso(), "request_id": f"{name}-{i}", "actor": name, "tenant": "t", "route": "/v1/chat",
         "model": "m", "decision": "allowed", "status": 200, "reason": None, "content": None}
        for i in range(start, min(total, start + batch))
    ]
    write_audit(engine, rows, replayed=False)
"""


def test_two_processes_form_one_chain(database_url: str, tmp_path: Path) -> None:
    get_engine(database_url)  # migrated once, before the writers race
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), database_url, name, str(PER_PROCESS), str(BATCH)],
            cwd=Path(__file__).parents[3],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("gw-a", "gw-b")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors
    with get_engine(database_url).connect() as connection:
        count = connection.scalar(select(func.count()).select_from(AuditEntryRow))
        actors = list(connection.scalars(select(AuditEntryRow.actor).order_by(AuditEntryRow.seq)))
    assert count == 2 * PER_PROCESS
    switches = sum(1 for before, after in itertools.pairwise(actors) if before != after)
    assert switches >= 1  # the batches did interleave (each process's rows are not all in one run)
    report = verify_chain(database_url)
    assert report.ok and report.entries == 2 * PER_PROCESS, report
