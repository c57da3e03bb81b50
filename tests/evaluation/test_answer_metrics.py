"""Answer metrics: SQuAD normalisation, exact match, token F1 and ROUGE-L against hand-computed values,
and ROUGE-L's LCS against a brute-force computation."""

from __future__ import annotations

import itertools
import random

import pytest

from genai.evaluation.answer_metrics import exact_match, normalize_answer, rouge_l, token_f1


def test_normalisation_is_squads() -> None:
    assert normalize_answer("The  Qdrant server!") == "qdrant server"
    assert normalize_answer("An apple, a pear; THE end.") == "apple pear end"
    assert normalize_answer("theory") == "theory"  # articles only as whole words
    assert normalize_answer("") == ""


def test_exact_match() -> None:
    assert exact_match("the Qdrant server.", "qdrant server") == 1.0
    assert exact_match("qdrant", "qdrant server") == 0.0


def test_token_f1_by_hand() -> None:
    # prediction: [qdrant, local, mode] reference: [qdrant, server]: common 1, P = 1/3, R = 1/2, F1 = 0.4
    assert token_f1("Qdrant local mode", "the Qdrant server") == pytest.approx(0.4)
    # multiplicity counts: [x x y] vs [x y y] share x, y -> P = R = 2/3
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)
    assert token_f1("same words", "Same words.") == 1.0
    assert token_f1("nothing", "shared") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("the", "qdrant") == 0.0  # only an article: no tokens


def test_rouge_l_by_hand() -> None:
    # prediction [x y z w], reference [x z w v]: LCS = x z w = 3; P = 3/4, R = 3/4
    assert rouge_l("x y z w", "x z w v") == pytest.approx(0.75)
    # order matters, unlike token F1: [q p] vs [p q] LCS = 1
    assert rouge_l("q p", "p q") == pytest.approx(0.5)
    assert token_f1("q p", "p q") == 1.0
    assert rouge_l("", "qdrant") == 0.0


def _brute_lcs(a: list[str], b: list[str]) -> int:
    best = 0
    for size in range(len(a), 0, -1):
        for picked in itertools.combinations(range(len(a)), size):
            sub = [a[i] for i in picked]
            it = iter(b)
            if all(token in it for token in sub):
                return size
    return best


def test_rouge_l_equals_brute_force_lcs() -> None:
    rng = random.Random(7)
    for _ in range(200):
        a = [rng.choice("pqrst") for _ in range(rng.randint(1, 7))]
        b = [rng.choice("pqrst") for _ in range(rng.randint(1, 7))]
        lcs = _brute_lcs(a, b)
        expected = 0.0 if lcs == 0 else 2 * (lcs / len(a)) * (lcs / len(b)) / (lcs / len(a) + lcs / len(b))
        assert rouge_l(" ".join(a), " ".join(b)) == pytest.approx(expected)
