"""The pipelined encoder against SentenceTransformer.encode, on the real packaged model."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from genai.embedding.encoder import Encoder, get_encoder
from genai.embedding.tokenizer import load_tokenizer
from genai.settings import EmbeddingSettings

WORDS = [
    "vector",
    "search",
    "ranks",
    "passages",
    "by",
    "cosine",
    "similarity",
    "while",
    "the",
    "ingestion",
    "flow",
    "chunks",
    "markdown",
    "pdf",
    "and",
    "html",
    "documents",
    "into",
    "token",
    "windows",
    "that",
    "a",
    "sentence",
    "transformer",
    "embeds",
    "on",
    "the",
    "cpu",
    "or",
    "a",
    "gpu",
    "worker",
]


def _texts(count: int, seed: int, max_words: int = 120) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, max_words))) + f" #{i}" for i in range(count)]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_module_imports_without_torch_or_pydantic() -> None:
    # GPU workers run the encoder without pydantic; importing it must not drag in the heavy stack either.
    code = (
        "import sys, genai.embedding.encoder\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'pydantic', 'genai.settings'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_shape_properties_and_cache(packaged_encoder: Encoder) -> None:
    assert packaged_encoder.dim == 384
    assert packaged_encoder.max_seq_length == 256
    assert get_encoder(**EmbeddingSettings().model_dump()) is packaged_encoder


def test_matches_sentence_transformers_encode(packaged_encoder: Encoder) -> None:
    texts = [*_texts(40, seed=1), "", "a", "Übergrößenträger naïve café"]
    ours = packaged_encoder.encode(texts)
    theirs = packaged_encoder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == (len(texts), 384)
    assert ours.dtype == np.float32
    assert _cosines(ours, theirs).min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_order_preserved_with_mixed_lengths(packaged_encoder: Encoder) -> None:
    texts = _texts(30, seed=2, max_words=200)
    random.Random(3).shuffle(texts)
    together = packaged_encoder.encode(texts, batch_size=7)
    one_by_one = np.vstack([packaged_encoder.encode([text]) for text in texts])
    assert _cosines(together, one_by_one).min() >= 0.9999
    # Every row is closest to its own text's embedding, so no row moved.
    assert (np.argmax(together @ one_by_one.T, axis=1) == np.arange(len(texts))).all()


def test_empty_input(packaged_encoder: Encoder) -> None:
    empty = packaged_encoder.encode([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


def test_long_text_is_truncated(packaged_encoder: Encoder) -> None:
    long_text = " ".join(_texts(60, seed=4))  # thousands of tokens, far over the 256 the model takes
    longer = long_text + " and then a tail the model never sees"
    ours = packaged_encoder.encode([long_text, longer])
    theirs = packaged_encoder.model.encode([long_text], normalize_embeddings=True)
    assert ours.shape == (2, 384)
    assert _cosines(ours[:1], theirs).min() >= 0.999
    np.testing.assert_allclose(ours[0], ours[1], atol=1e-6)


def test_batch_size_smaller_than_input(packaged_encoder: Encoder) -> None:
    texts = _texts(23, seed=5)
    small = packaged_encoder.encode(texts, batch_size=4)
    default = packaged_encoder.encode(texts)
    assert small.shape == default.shape == (23, 384)
    assert _cosines(small, default).min() >= 0.9999


def test_deterministic(packaged_encoder: Encoder) -> None:
    texts = _texts(12, seed=6)
    assert np.array_equal(packaged_encoder.encode(texts), packaged_encoder.encode(texts))


def test_encode_query(packaged_encoder: Encoder) -> None:
    query = "how are passages ranked"
    vector = packaged_encoder.encode_query(query)
    assert vector.shape == (1, 384)
    assert _cosines(vector, packaged_encoder.encode([query])).min() >= 0.9999


def test_encode_ids_matches_encode(packaged_encoder: Encoder) -> None:
    # The ids the chunker's tokenizer gives (no special tokens) embed like the texts they came from.
    texts = [*_texts(15, seed=7, max_words=400), ""]
    tokenizer = load_tokenizer("all-MiniLM-L6-v2")
    ids = [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]
    assert max(map(len, ids)) > packaged_encoder.max_seq_length  # some rows must be truncated
    from_ids = packaged_encoder.encode_ids(ids, batch_size=4)
    from_texts = packaged_encoder.encode(texts)
    assert from_ids.shape == (len(texts), 384)
    assert _cosines(from_ids, from_texts).min() >= 0.9999
    assert packaged_encoder.encode_ids([]).shape == (0, 384)


def test_unknown_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="dtype"):
        Encoder("all-MiniLM-L6-v2-does-not-matter", dtype="int8")
