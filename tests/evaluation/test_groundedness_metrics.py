"""Groundedness: sentence splitting, the support rule and its edge cases, by hand."""

from __future__ import annotations

import pytest

from genai.evaluation.groundedness import content_tokens, groundedness, split_sentences

CHUNKS = [
    "Vectors are kept in Qdrant, in local mode under the platform home by default.",
    "Documents and chunks live in the SQL database unless MongoDB is configured.",
]


def test_sentences_split_at_end_marks_and_line_breaks() -> None:
    assert split_sentences("One. Two! Three?\nFour\n\n  ") == ["One.", "Two!", "Three?", "Four"]
    assert split_sentences("genai.retrieval.search is shared.") == ["genai.retrieval.search is shared."]


def test_content_tokens_drop_stopwords_and_punctuation() -> None:
    assert content_tokens("The vectors are in Qdrant.") == {"vectors", "qdrant"}


def test_each_sentence_needs_support_from_one_chunk() -> None:
    supported = "Vectors are kept in Qdrant."
    unsupported = "Answers are cached in Redis forever."
    assert groundedness(supported, CHUNKS) == 1.0
    assert groundedness(f"{supported} {unsupported}", CHUNKS) == 0.5
    assert groundedness(unsupported, CHUNKS) == 0.0
    # 'qdrant' and 'mongodb' each appear in a chunk, never together in one: not supported.
    assert groundedness("Qdrant MongoDB.", CHUNKS) == 0.0


def test_the_threshold_is_a_share_of_content_tokens() -> None:
    # content tokens: vectors, kept, qdrant, redis -> 3 of 4 (0.75) in the first chunk
    answer = "Vectors kept in Qdrant and Redis."
    assert groundedness(answer, CHUNKS, threshold=0.75) == 1.0
    assert groundedness(answer, CHUNKS, threshold=0.8) == 0.0
    with pytest.raises(ValueError):
        groundedness(answer, CHUNKS, threshold=0)


def test_empty_answers_contexts_and_stopword_sentences() -> None:
    assert groundedness("", CHUNKS) == 0.0
    assert groundedness("   ", CHUNKS) == 0.0
    assert groundedness("Vectors are kept in Qdrant.", []) == 0.0
    assert groundedness("It is.", CHUNKS) == 0.0  # no content token at all
    assert groundedness("Yes. Vectors are kept in Qdrant.", CHUNKS) == 1.0  # 'Yes.' is not counted
