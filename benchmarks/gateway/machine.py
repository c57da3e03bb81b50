"""What else the machine was doing during a measurement, and what the measurement ran on.

``CpuMonitor`` reads /proc: the CPU time all processes used (busy jiffies in /proc/stat) minus the CPU time
of the benchmark's own processes (this one and the sessions of the servers it started) is what *other*
processes took, in cores. A load average says the same more coarsely (and counts the benchmark itself).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.provenance import provenance

_TICKS = os.sysconf("SC_CLK_TCK")


def _busy_ticks() -> int:
    """Jiffies all processes ran, over all CPUs: user, nice and system time. Interrupt time is left
    out: the loopback traffic the benchmark itself makes is handled there, charged to no process."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system = (int(value) for value in fields[:3])
    return user + nice + system


def session_ticks(sessions: Iterable[int]) -> tuple[int, dict[int, int]]:
    """CPU jiffies of this process, and of all processes of each given session (a server's group)."""
    by_session = dict.fromkeys(sessions, 0)
    me = os.getpid()
    mine = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name may hold spaces and parentheses: fields start after the last ")".
        fields = raw[raw.rindex(")") + 2 :].split()
        pid, session = int(entry.name), int(fields[3])
        ticks = int(fields[11]) + int(fields[12])
        if pid == me:
            mine += ticks
        elif session in by_session:
            by_session[session] += ticks
    return mine, by_session


def _own_ticks(sessions: Iterable[int]) -> int:
    mine, by_session = session_ticks(sessions)
    return mine + sum(by_session.values())


class ProcessCpu:
    """CPU time per request of the load generator (this process) and of named servers (their sessions)."""

    def __init__(self, sessions: dict[str, int]) -> None:
        self.sessions = sessions
        self._start: dict[str, int] = {}

    def _read(self) -> dict[str, int]:
        mine, by_session = session_ticks(self.sessions.values())
        return {"loadgen": mine, **{name: by_session[sid] for name, sid in self.sessions.items()}}

    def start(self) -> None:
        self._start = self._read()

    def per_request_us(self, requests: int) -> dict[str, float]:
        """Microseconds of CPU each process spent per request since ``start()``."""
        end = self._read()
        if not requests:
            return {}
        return {name: round((end[name] - self._start[name]) / _TICKS / requests * 1e6, 1) for name in end}


@dataclass
class Snapshot:
    at: float
    busy: int
    own: int
    loadavg: tuple[float, float, float]


class CpuMonitor:
    """Brackets a measurement: ``start()``, then ``stop()`` returns what other processes used."""

    def __init__(self, sessions: Iterable[int]) -> None:
        self.sessions = list(sessions)
        self._start: Snapshot | None = None

    def _snapshot(self) -> Snapshot:
        return Snapshot(time.monotonic(), _busy_ticks(), _own_ticks(self.sessions), os.getloadavg())

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> dict[str, object]:
        assert self._start is not None
        end = self._snapshot()
        seconds = end.at - self._start.at
        foreign = (end.busy - self._start.busy) - (end.own - self._start.own)
        own = end.own - self._start.own
        return {
            "seconds": round(seconds, 1),
            "foreign_cores": round(max(0, foreign) / _TICKS / seconds, 3) if seconds > 0 else 0.0,
            "own_cores": round(own / _TICKS / seconds, 3) if seconds > 0 else 0.0,
            "loadavg_start": self._start.loadavg,
            "loadavg_end": end.loadavg,
        }


def describe(extra_versions: dict[str, str]) -> dict[str, object]:
    """The machine and the software under test (the commit, and whether the tree had uncommitted changes),
    for the results file."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        **provenance(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "versions": extra_versions,
        "loadavg": os.getloadavg(),
    }
