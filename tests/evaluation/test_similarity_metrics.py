"""Embedding similarity with the platform's real encoder: batched, ordered, cosine, zero for empties."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from genai.embedding.encoder import Encoder
from genai.evaluation.similarity import embedding_similarity


def test_similarity_is_the_cosine_of_the_encoders_embeddings(packaged_encoder: Encoder) -> None:
    answers = ["Vectors are stored in Qdrant.", "The cat sat on the mat.", "Vectors are stored in Qdrant."]
    references = ["Qdrant holds the vectors.", "Qdrant holds the vectors.", "Vectors are stored in Qdrant."]
    scores = embedding_similarity(answers, references, encoder=packaged_encoder)
    a, b = packaged_encoder.encode([answers[0], references[0]])
    expected = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert scores[0] == pytest.approx(expected, abs=1e-5)
    assert scores[0] > scores[1] + 0.2  # a paraphrase is closer than an unrelated sentence
    assert scores[2] == pytest.approx(1.0, abs=1e-5)


def test_the_default_encoder_is_the_platforms_shared_one(packaged_encoder: Encoder) -> None:
    # No encoder given: the shared encoder for the default embedding settings (the same instance).
    scores = embedding_similarity(["Qdrant"], ["Qdrant"])
    assert scores == [pytest.approx(1.0, abs=1e-5)]


def test_empty_answers_score_zero_and_lengths_must_match(packaged_encoder: Encoder) -> None:
    assert embedding_similarity(["", "  "], ["x", "y"], encoder=packaged_encoder) == [0.0, 0.0]
    assert embedding_similarity([], [], encoder=packaged_encoder) == []
    with pytest.raises(ValueError, match="2 answers but 1 references"):
        embedding_similarity(["a", "b"], ["a"], encoder=packaged_encoder)


def test_fake_counting_encoder_sees_all_texts_in_one_batch(packaged_encoder: Encoder) -> None:
    calls: list[int] = []

    class Counting:  # wraps the real encoder, counting its calls
        def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
            calls.append(len(texts))
            return packaged_encoder.encode(texts, batch_size)

    embedding_similarity(["a b", "c d", "a b"], ["e f", "e f", "g h"], encoder=Counting())
    assert calls == [4]  # one call, each distinct text once
