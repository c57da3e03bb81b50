"""Interpreter settings of a serving gateway process (gateway.gc_tuning): a higher young-generation
threshold, start-up objects frozen, and a short GIL switch interval for the writer threads."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from gateway.gc_tuning import SWITCH_INTERVAL_S, YOUNG_GENERATION_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_interpreter() -> Iterator[None]:
    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored_interpreter")
def test_tuning_for_serving_freezes_start_up_raises_the_threshold_and_shortens_switches() -> None:
    sys.setswitchinterval(0.005)  # CPython's default
    tune_for_serving()
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
    assert gc.get_freeze_count() > 0
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
