"""Precision and recall of the detectors on the labelled sets shipped in tests/data/screening (the floors
are what the detectors measured, docs/screening.md; a change that loses accuracy fails here).

``labelled.jsonl`` (275 texts) is the set the detectors were tuned on; ``holdout.jsonl`` (106) and
``fresh.jsonl`` (60) were written afterwards and measured before any change they prompted (their first
numbers are in the doc). About half of each set is benign text that looks risky."""

from __future__ import annotations

from pathlib import Path

import pytest

from genai.guards.scoring import Labelled, detected, load, score

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
SETS = ("labelled", "holdout", "fresh")
# (precision, recall) floors per check, measured on every set together.
FLOORS = {"pii": (0.99, 0.99), "injection": (0.99, 0.97)}
KIND_FLOOR = 0.9  # every single kind, precision and recall


def rows(name: str) -> list[Labelled]:
    return load(DATA / f"{name}.jsonl")


def test_the_sets_are_large_and_about_half_benign() -> None:
    everything = [row for name in SETS for row in rows(name)]
    main = rows("labelled")
    assert len(main) >= 200
    benign = sum(1 for row in main if not row.labels)
    assert 0.45 <= benign / len(main) <= 0.6
    assert len({row.text for row in everything}) == len(everything)  # no text twice


@pytest.mark.parametrize("check", sorted(FLOORS))
def test_precision_and_recall_floors_per_check(check: str) -> None:
    measured = score(row for name in SETS for row in rows(name))[check]
    floor_p, floor_r = FLOORS[check]
    assert measured.precision >= floor_p and measured.recall >= floor_r, measured.as_dict()


def test_every_kind_keeps_its_floor() -> None:
    scores = score(row for name in SETS for row in rows(name))
    weak = {kind: s.as_dict() for kind, s in scores.items() if min(s.precision, s.recall) < KIND_FLOOR}
    assert not weak


def test_a_long_text_finds_what_its_short_self_finds() -> None:
    # Past 512 characters the detectors look only in windows around digits and trigger words
    # (genai/guards/windows.py): padding every labelled text with ordinary prose must change nothing.
    pad = "The quarterly report covers 2,318 runs over eleven regions and several teams. " * 8
    for name in SETS:
        for row in rows(name):
            assert detected(pad + row.text + " " + pad) == detected(row.text), row.text
