"""``genai.llm.extractive``: the baseline answers with the sentence that best matches the question."""

from __future__ import annotations

import pytest

from genai.llm.extractive import content_words, extractive_answer, split_sentences

PASSAGES = [
    "The harbour lighthouse is serviced every Tuesday at dawn. Its lamp burns paraffin from the blue drum.",
    "The bakery feeds its sourdough starter at six. Croissant dough rests overnight in the fridge.",
]


def test_the_best_matching_sentence_wins() -> None:
    assert (
        extractive_answer("What does the lamp burn?", PASSAGES)
        == "Its lamp burns paraffin from the blue drum."
    )
    assert extractive_answer("When is the sourdough starter fed?", PASSAGES) == (
        "The bakery feeds its sourdough starter at six."
    )


def test_more_sentences_keep_the_passages_order() -> None:
    answer = extractive_answer("lighthouse lamp paraffin Tuesday", PASSAGES, max_sentences=2)
    assert answer == " ".join(split_sentences(PASSAGES[0]))


def test_rare_words_weigh_more_than_common_ones() -> None:
    passages = ["The dough is ready. The dough rests. The oven heats the dough to 250 degrees."]
    assert extractive_answer("dough oven temperature degrees", passages) == (
        "The oven heats the dough to 250 degrees."
    )


def test_no_matching_word_falls_back_on_the_first_sentence_and_no_passage_on_nothing() -> None:
    assert (
        extractive_answer("quantum chromodynamics", PASSAGES)
        == "The harbour lighthouse is serviced every Tuesday at dawn."
    )
    assert extractive_answer("anything", []) == ""
    assert extractive_answer("anything", ["", "  \n "]) == ""
    with pytest.raises(ValueError, match="max_sentences"):
        extractive_answer("x", PASSAGES, max_sentences=0)


def test_content_words_drop_stop_words_and_plurals() -> None:
    assert content_words("What are the workers of the pools?") == ["worker", "pool"]
    assert split_sentences("One. Two!\n\nThree?  Four") == ["One.", "Two!", "Three?", "Four"]
