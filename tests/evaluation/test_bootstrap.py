"""The paired bootstrap: deterministic for a seed, pairs by id, and wide on small sets, so a tiny
advantage on a few examples does not clear the gate while a real advantage on many does."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from genai.evaluation.bootstrap import paired_bootstrap_ci


def scores(values: Sequence[float], prefix: str = "q") -> dict[str, float]:
    return {f"{prefix}{i}": v for i, v in enumerate(values)}


def test_the_same_seed_gives_the_same_interval_whatever_the_order() -> None:
    rng = np.random.default_rng(5)
    ours = scores(list(rng.random(50)))
    theirs = scores(list(rng.random(50)))
    first = paired_bootstrap_ci(ours, theirs, samples=3000, confidence=0.95, seed=11)
    reordered = dict(reversed(list(ours.items())))
    assert paired_bootstrap_ci(reordered, theirs, samples=3000, confidence=0.95, seed=11) == first
    other_seed = paired_bootstrap_ci(ours, theirs, samples=3000, confidence=0.95, seed=12)
    assert (other_seed.low, other_seed.high) != (first.low, first.high)
    assert first.low <= first.mean_diff <= first.high


def test_pairs_are_matched_by_id_and_unpaired_examples_left_out() -> None:
    ours = {"a": 1.0, "b": 1.0, "only-ours": 0.0}
    theirs = {"a": 0.0, "b": 0.5, "only-theirs": 1.0}
    ci = paired_bootstrap_ci(ours, theirs, samples=500, seed=0)
    assert ci.n == 2
    assert ci.mean_diff == pytest.approx(0.75)
    assert 0.5 <= ci.low <= ci.high <= 1.0  # every resample mean lies between the two differences
    with pytest.raises(ValueError, match="no example in common"):
        paired_bootstrap_ci({"a": 1.0}, {"b": 1.0})


def test_a_constant_difference_has_a_zero_width_interval() -> None:
    ci = paired_bootstrap_ci(scores([0.6] * 20), scores([0.5] * 20), samples=200)
    assert ci.low == pytest.approx(0.1) and ci.high == pytest.approx(0.1)


def test_the_interval_matches_a_direct_percentile_bootstrap() -> None:
    rng = np.random.default_rng(3)
    ours, theirs = rng.random(30), rng.random(30)
    ci = paired_bootstrap_ci(scores(list(ours)), scores(list(theirs)), samples=4000, confidence=0.9, seed=9)
    # An independent bootstrap with other random draws agrees within Monte Carlo error.
    diffs = ours - theirs
    other = np.random.default_rng(12345)
    means = np.array([other.choice(diffs, size=30, replace=True).mean() for _ in range(4000)])
    low, high = np.quantile(means, [0.05, 0.95])
    assert ci.mean_diff == pytest.approx(diffs.mean())
    assert ci.low == pytest.approx(low, abs=0.02) and ci.high == pytest.approx(high, abs=0.02)


def test_a_small_advantage_on_a_small_set_does_not_pass_but_on_a_big_set_it_does() -> None:
    tolerance = 0.02  # the gate: the low bound of (candidate - champion) must be above -tolerance
    # Per 10 examples: the candidate wins 3, loses 2, ties 5: ahead by 0.1 on average, but noisy.
    champion_ten = [0, 0, 0, 1, 1, 1, 1, 0, 1, 0]
    candidate_ten = [1, 1, 1, 0, 0, 1, 1, 0, 1, 0]
    small = paired_bootstrap_ci(scores(candidate_ten), scores(champion_ten), samples=2000, seed=0)
    assert small.mean_diff == pytest.approx(0.1)
    assert small.low < -tolerance  # ten examples cannot tell this from luck
    # The same pattern on 400 examples: the same advantage, now clear of the tolerance.
    big = paired_bootstrap_ci(scores(candidate_ten * 40), scores(champion_ten * 40), samples=2000, seed=0)
    assert big.mean_diff == pytest.approx(0.1)
    assert big.low > -tolerance and big.low > 0
    assert big.high - big.low < (small.high - small.low) / 4
