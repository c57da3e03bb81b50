"""Embedding similarity of answers to reference answers, with the platform's own sentence encoder.

The encoder is the one ingestion and search use (``genai.embedding.shared.encoder_for``), loaded once per
process; all texts of a call are embedded in one batched ``encode``. The score is the cosine of the two
embeddings, in [-1, 1] (in practice about 0..1 for English text). An empty answer scores 0.0: an empty
string still has an embedding, and its similarity to anything means nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from genai.settings import EmbeddingSettings


class TextEncoder(Protocol):
    """What similarity needs of an encoder: ``genai.embedding.encoder.Encoder`` is one."""

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray: ...


def embedding_similarity(
    answers: Sequence[str],
    references: Sequence[str],
    embedding: EmbeddingSettings | None = None,
    encoder: TextEncoder | None = None,
) -> list[float]:
    """Cosine similarity of each answer to its reference, in order.

    ``encoder`` defaults to the shared encoder for ``embedding`` (default: the platform's embedding
    settings). Each distinct text is embedded once.
    """
    if len(answers) != len(references):
        raise ValueError(f"{len(answers)} answers but {len(references)} references")
    if not answers:
        return []
    if encoder is None:
        from genai.embedding.shared import encoder_for
        from genai.settings import EmbeddingSettings

        encoder = encoder_for(embedding or EmbeddingSettings())
    texts = list(dict.fromkeys(t for t in [*answers, *references] if t.strip()))
    row = {text: i for i, text in enumerate(texts)}
    vectors = np.asarray(encoder.encode(texts), dtype=np.float64) if texts else np.zeros((0, 1))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # Normalise here whatever the model does: cosine must not depend on a Normalize module being present.
    unit = vectors / np.where(norms == 0, 1.0, norms)
    scores = []
    for answer, reference in zip(answers, references, strict=True):
        if not answer.strip() or not reference.strip():
            scores.append(0.0)
            continue
        scores.append(float(np.clip(unit[row[answer]] @ unit[row[reference]], -1.0, 1.0)))
    return scores
