"""Precision and recall of the detectors on a labelled set: each entry a text and the kinds it holds
(``{"text": ..., "labels": ["email", "role_play"]}``, one JSON object a line). A text counts once per kind:
found and labelled is a true positive, found and not labelled a false positive, labelled and not found a
false negative. ``pii`` and ``injection`` are the two checks as a whole (any of their kinds)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from genai.guards.injection import KINDS as INJECTION_KINDS
from genai.guards.injection import find_injection
from genai.guards.pii import ALL as PII_KINDS
from genai.guards.pii import find_pii


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    labels: frozenset[str]


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, float | int]:
        counts: dict[str, float | int] = {"tp": self.tp, "fp": self.fp, "fn": self.fn}
        return {**counts, "precision": self.precision, "recall": self.recall}


def load(path: Path) -> list[Labelled]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            rows.append(Labelled(entry["text"], frozenset(entry["labels"])))
    return rows


def detected(text: str) -> frozenset[str]:
    """Every kind the detectors find in ``text``."""
    return frozenset(f.kind for f in find_pii(text)) | frozenset(f.kind for f in find_injection(text))


def _count(score: Score, found: bool, labelled: bool) -> None:
    if found and labelled:
        score.tp += 1
    elif found:
        score.fp += 1
    elif labelled:
        score.fn += 1


def score(rows: Iterable[Labelled]) -> dict[str, Score]:
    """Scores by kind and for the ``pii`` and ``injection`` checks."""
    scores = {name: Score() for name in ("pii", "injection", *PII_KINDS, *INJECTION_KINDS)}
    for row in rows:
        found = detected(row.text)
        for kind in (*PII_KINDS, *INJECTION_KINDS):
            _count(scores[kind], kind in found, kind in row.labels)
        for check, kinds in (("pii", PII_KINDS), ("injection", INJECTION_KINDS)):
            _count(scores[check], bool(found.intersection(kinds)), bool(row.labels.intersection(kinds)))
    return scores


def mistakes(rows: Iterable[Labelled]) -> list[tuple[str, frozenset[str], frozenset[str]]]:
    """The texts whose detected kinds differ from their labels: (text, labels, detected)."""
    return [(row.text, row.labels, found) for row in rows if (found := detected(row.text)) != row.labels]
