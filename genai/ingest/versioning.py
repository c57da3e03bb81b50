"""The pipeline version: a short hash of everything that shapes a document's chunks and vectors.

A stored document whose pipeline version differs from the current one is re-chunked and re-embedded even
if its text did not change, so changing the chunk size or the embedding model takes effect on the next run.
The index-time retrieval choices (sparse vectors, contextual chunks) count too; with both off the version
is the one from before they existed, so such knowledge bases are not re-indexed for nothing.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from genai.embedding.model_path import resolve_model_path
from genai.settings import PIPELINE_SCHEMA, ChunkingSettings, EmbeddingSettings, ResolvedRetrieval

CHUNKER_VERSION = "1"  # bump when the chunking algorithm changes its output


@lru_cache(maxsize=8)
def _model_identity(model_dir: Path) -> str:
    """Identify model weights without reading them: their config plus the weight files' names and sizes."""
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        file = model_dir / name
        if file.exists():
            digest.update(file.read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()


def pipeline_version(
    chunking: ChunkingSettings, embedding: EmbeddingSettings, retrieval: ResolvedRetrieval | None = None
) -> str:
    """``v<schema>-<12 hex>`` for the current chunking settings, embedding model and the knowledge base's
    index-time retrieval choices (``settings.retrieval.for_kb(kb)``; None: neither sparse nor contextual)."""
    parts = [
        PIPELINE_SCHEMA,
        CHUNKER_VERSION,
        str(chunking.chunk_tokens),
        str(chunking.overlap_tokens),
        str(embedding.max_seq_length),
        _model_identity(resolve_model_path(embedding.model)),
    ]
    if retrieval is not None and retrieval.sparse:
        from genai.retrieval.sparse import SPARSE_VERSION

        parts.append(f"sparse={SPARSE_VERSION}")
    if retrieval is not None and retrieval.contextual:
        from genai.retrieval.contextual import CONTEXTUAL_VERSION

        parts.append(f"contextual={CONTEXTUAL_VERSION}")
    return f"v{PIPELINE_SCHEMA}-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:12]}"
