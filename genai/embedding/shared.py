"""The process's encoder for the configured embedding model: loaded on first use, then reused."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from genai.settings import EmbeddingSettings

if TYPE_CHECKING:
    from genai.embedding.encoder import Encoder


def encoder_for(embedding: EmbeddingSettings) -> Encoder:
    """The shared encoder for these embedding settings (one per model, device and dtype per process)."""
    # The model loads once per process; a progress bar for it is noise in CLI output and flow logs.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from genai.embedding.encoder import get_encoder

    return get_encoder(
        embedding.model,
        embedding.device,
        embedding.dtype,
        embedding.batch_size,
        embedding.tokenizer_workers,
        embedding.max_seq_length,
    )
