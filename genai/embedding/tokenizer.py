"""The embedding model's tokenizer, for counting tokens while chunking.

Loaded from the model's ``tokenizer.json`` with the light ``tokenizers`` package, so chunking does not pay
for importing transformers or torch. One instance per model directory per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from genai.embedding.model_path import resolve_model_path

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@lru_cache(maxsize=4)
def _load(model_dir: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer_file = model_dir / "tokenizer.json"
    if not tokenizer_file.exists():
        raise FileNotFoundError(f"{model_dir} has no tokenizer.json; chunking needs a fast tokenizer")
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    # Chunking counts every token of a document; the model's truncation and padding must not apply.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def load_tokenizer(model: str) -> Tokenizer:
    """The fast tokenizer of the embedding model named by the ``embedding.model`` setting."""
    return _load(resolve_model_path(model))


def special_token_count(tokenizer: Tokenizer) -> int:
    """How many tokens the model adds around every input ([CLS] and [SEP] for BERT-style models)."""
    return tokenizer.num_special_tokens_to_add(is_pair=False)
