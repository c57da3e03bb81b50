"""Where a benchmark's raw results go and what they were measured at: the commit, whether the working tree
had uncommitted changes, and when.

Every benchmark writes its JSON to ``docs/benchmarks/results/`` by default, next to the doc whose tables
it fills, so the run that changes a published number commits its raw file with it.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "docs" / "benchmarks" / "results"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def provenance() -> dict[str, object]:
    """``commit`` (full hash, None outside a git checkout), ``dirty`` (uncommitted changes to tracked
    files: the numbers then belong to no commit exactly) and ``measured_at`` (UTC, ISO 8601)."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
