"""The platform's embedding model as the gateway serves it: loaded once, off the event loop, and encoding
blocking batches in a worker thread.

The model is the one ingestion embeds chunks with (``genai.embedding.shared.encoder_for``), so a vector
served by the gateway equals the one stored for the same text. The HTTP endpoint
(``gateway.api.embeddings``) parses the request and hands texts here.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import numpy as np

from gateway.errors import InvalidRequest, NoHealthyUpstream
from gateway.gc_tuning import freeze_startup_objects

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from genai.embedding.encoder import Encoder
    from genai.settings import EmbeddingSettings

logger = logging.getLogger(__name__)


class EmbeddingService:
    """The platform's encoder and its tokenizer (for usage counts), loaded once, on first need."""

    def __init__(self, embedding: EmbeddingSettings, names: list[str]) -> None:
        self.settings = embedding
        self.names = frozenset(names)
        self._lock = threading.Lock()
        self._loaded: tuple[Encoder, Tokenizer] | None = None

    def serves(self, model: str) -> bool:
        return model in self.names

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def warm_up(self) -> threading.Thread:
        """Load the model in a daemon thread; a failure is logged and retried by the first request."""

        def load() -> None:
            try:
                self._load()
            except Exception:
                logger.exception("the embedding model %r could not be loaded", self.settings.model)
                return
            # torch and the model leave hundreds of thousands of long-lived objects: keep them out of
            # every later full collection.
            freeze_startup_objects()

        thread = threading.Thread(target=load, name="embedding-warm-up", daemon=True)
        thread.start()
        return thread

    def _load(self) -> tuple[Encoder, Tokenizer]:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                from genai.embedding.shared import encoder_for
                from genai.embedding.tokenizer import load_tokenizer

                self._loaded = (encoder_for(self.settings), load_tokenizer(self.settings.model))
                logger.info("embedding model %r loaded", self.settings.model)
            return self._loaded

    def embed(self, texts: list[str], dimensions: int | None = None) -> tuple[np.ndarray, int]:
        """Vectors (float32, one row per text, as ingestion stores them) and the prompt tokens counted.

        Blocking: call it from a worker thread.
        """
        try:
            encoder, tokenizer = self._load()
        except Exception as error:
            raise NoHealthyUpstream(
                f"The embedding model could not be loaded: {error}", code="embedding_model_unavailable"
            ) from error
        if dimensions is not None and dimensions != encoder.dim:
            raise InvalidRequest(
                f"dimensions={dimensions} is not supported: this model's vectors have {encoder.dim} "
                "dimensions and cannot be shortened.",
                param="dimensions",
            )
        vectors = encoder.encode(texts)
        # The model sees special tokens and truncates at its limit; usage counts what it actually read.
        limit = encoder.max_seq_length
        tokens = sum(min(len(encoding.ids), limit) for encoding in tokenizer.encode_batch(texts))
        return vectors, tokens
