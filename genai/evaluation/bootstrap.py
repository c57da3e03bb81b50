"""The paired bootstrap: a confidence interval for the mean per-example difference of two candidates.

Both candidates answered the same examples, so the question is about the paired differences
d_i = candidate_i - champion_i over the examples both have (matched by id; the others are left out). The
examples are resampled with replacement ``samples`` times; the interval is the percentile interval of the
resampled means at ``confidence``. A small set gives a wide interval, so a tiny advantage measured on a
few examples does not clear a gate that asks the lower bound to be above a tolerance.

numpy's seeded ``Generator`` draws the resamples over the ids in sorted order, so a seed gives the same
interval whatever order the mappings were built in.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel

_BLOCK = 1000  # resamples drawn per step: bounds memory at _BLOCK x n indices for large sets


class BootstrapCI(BaseModel):
    """The observed mean difference (candidate - champion), its interval, and the number of pairs."""

    mean_diff: float
    low: float
    high: float
    n: int
    confidence: float
    samples: int


def paired_bootstrap_ci(
    candidate: Mapping[str, float],
    champion: Mapping[str, float],
    samples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """The ``confidence`` percentile interval of mean(candidate - champion) over their common ids.

    Raises ``ValueError`` when they have no example in common.
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    common = sorted(set(candidate) & set(champion))
    if not common:
        raise ValueError("the two candidates have no example in common")
    diffs = np.array([candidate[i] - champion[i] for i in common], dtype=np.float64)
    n = len(diffs)
    rng = np.random.default_rng(seed)
    means = np.empty(samples, dtype=np.float64)
    for start in range(0, samples, _BLOCK):
        size = min(_BLOCK, samples - start)
        means[start : start + size] = diffs[rng.integers(0, n, size=(size, n))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return BootstrapCI(
        mean_diff=float(diffs.mean()),
        low=float(low),
        high=float(high),
        n=n,
        confidence=confidence,
        samples=samples,
    )
