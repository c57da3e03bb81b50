"""The sparse tokenizer keeps identifiers whole and split; term ids and BM25 weights are fixed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from genai.retrieval.sparse import document_vector, query_vector
from genai.retrieval.terms import STOP_WORDS, term_id, terms


@pytest.mark.parametrize(
    ("text", "whole", "parts"),
    [
        ("pg_stat_activity", "pg_stat_activity", ["pg", "stat", "activity"]),
        ("os.path.join()", "os.path.join", ["os", "path", "join"]),
        ("run with --max-tokens 5", "--max-tokens", ["max-tokens", "max", "tokens"]),
        ("ERR_CONNECTION_REFUSED", "err_connection_refused", ["err", "connection", "refused"]),
        ("getHTTPResponse", "gethttpresponse", ["get", "http", "response"]),
        ("std::vec::Vec", "std::vec::vec", ["std", "vec"]),
        ("error E1234 happened", "e1234", ["1234"]),
    ],
)
def test_identifiers_are_kept_whole_and_split_into_parts(text: str, whole: str, parts: list[str]) -> None:
    found = terms(text)
    assert whole in found
    assert all(part in found for part in parts), found
    assert found.index(whole) < min(found.index(part) for part in parts)  # whole first, then its parts


def test_plain_words_are_lower_cased_and_stop_words_dropped() -> None:
    assert terms("The Quick fox and the dog") == ["quick", "fox", "dog"]
    assert not STOP_WORDS & set(terms("it is what it was, of the best"))


def test_one_character_parts_and_overlong_terms_are_dropped() -> None:
    found = terms("a_b E1234 " + "x" * 100)
    assert "a_b" in found and "a" not in found and "b" not in found
    assert "e" not in found and not any(len(term) > 64 for term in found)


def test_term_ids_are_fixed_across_processes() -> None:
    # Python's hash() would differ per process (PYTHONHASHSEED); a stored vector must match tomorrow's query.
    code = "from genai.retrieval.terms import term_id; print(term_id('pg_stat_activity'))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {str(term_id("pg_stat_activity"))}
    assert 0 <= term_id("pg_stat_activity") < 2**32


def test_document_weights_saturate_with_term_frequency_and_shrink_with_length() -> None:
    def weight(text: str, term: str) -> float:
        vector = document_vector(text)
        return vector.values[vector.indices.index(term_id(term))]

    once, twice, many = (weight(" ".join(["fox"] * n), "fox") for n in (1, 2, 20))
    assert once < twice < many < 2.2  # k1 + 1 bounds a BM25 term weight
    assert twice - once > many / 20  # saturation: the second occurrence adds far more than the twentieth
    short = weight("fox " + "dog " * 5, "fox")
    long = weight("fox " + "dog " * 500, "fox")
    assert long < short


def test_query_vector_weighs_each_distinct_term_once() -> None:
    vector = query_vector("replication replication pg_stat_replication")
    assert vector.values == [1.0] * len(vector.indices)
    assert len(vector.indices) == len(set(terms("replication pg_stat_replication")))
    assert vector.indices == sorted(vector.indices)
