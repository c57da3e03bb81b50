"""A detector's finding: the kind of thing found and where, never the text itself (callers that need
the text slice it from their own copy, so nothing downstream can leak it by logging a finding)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """``text[start:end]`` is a ``kind`` ("email", "card", "ignore_instructions", ...)."""

    kind: str
    start: int
    end: int


def without_overlaps(findings: Iterable[Finding], priority: dict[str, int] | None = None) -> list[Finding]:
    """The findings sorted by position, keeping of two overlapping ones the higher-priority kind (a lower
    number in ``priority``), then the longer: a card number inside a secret assignment is one secret."""
    rank = priority or {}
    ordered = sorted(findings, key=lambda f: (rank.get(f.kind, 99), -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for finding in ordered:
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    kept.sort(key=lambda f: f.start)
    return kept
