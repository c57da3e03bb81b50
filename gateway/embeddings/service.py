"""The platform's embedding model as the gateway serves it: loaded once, off the event loop, and encoding
blocking batches in a worker thread.

The model is the one ingestion embeds chunks with (``genai.embedding.shared.encoder_for``), so a vector
served by the gateway equals the one stored for the same text. The HTTP endpoint
(``gateway.api.embeddings``) parses the request and hands texts here.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from gateway.embeddings.admission import Admission
from gateway.errors import DeadlineExceeded, InvalidRequest, NoHealthyUpstream
from gateway.gc_tuning import freeze_startup_objects

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from genai.embedding.encoder import Encoder
    from genai.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

_CHARS_PER_TOKEN = 100  # WordPiece's own bound: a longer word is read as one unknown token


class EmbeddingService:
    """The platform's encoder and its tokenizer (for usage counts), loaded once, on first need."""

    def __init__(self, embedding: EmbeddingSettings, names: list[str], max_in_flight: int = 4) -> None:
        self.settings = embedding
        self.names = frozenset(names)
        self.admission = Admission(max_in_flight)
        self._lock = threading.Lock()
        self._loaded: tuple[Encoder, Tokenizer] | None = None
        # For /readyz: a gateway that loads the model at start-up is not ready until it is loaded; one
        # that loads it on the first request (lazy) is.
        self.warming = False
        self.load_error: str | None = None

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
            except Exception as error:
                self.load_error = f"{type(error).__name__}: {error}"
                logger.exception("the embedding model %r could not be loaded", self.settings.model)
                return
            # torch and the model leave hundreds of thousands of long-lived objects: keep them out of
            # every later full collection.
            freeze_startup_objects()

        self.warming = True
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
                self.load_error = None
                logger.info("embedding model %r loaded", self.settings.model)
            return self._loaded

    def embed(
        self,
        texts: list[str],
        dimensions: int | None = None,
        *,
        max_tokens: int | None = None,
        stop: threading.Event | None = None,
        deadline: float | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors (float32, one row per text, as ingestion stores them) and the prompt tokens counted.

        Bounded: each text is cut to what the model can read before anything tokenizes it, a request
        whose texts hold more than ``max_tokens`` tokens (after the model's truncation) is refused before
        any encoding, and encoding goes batch by batch, stopping once ``stop`` is set (the client left)
        or the ``deadline`` (``time.monotonic()``) passed. Blocking: call it from a worker thread.
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
        limit = encoder.max_seq_length
        # No token is longer than this many characters (a longer word becomes one unknown token), so the
        # cut keeps all the model reads, and a multi-megabyte string costs its first kilobytes only.
        most = limit * _CHARS_PER_TOKEN
        texts = [text[:most] for text in texts]
        # The model sees special tokens and truncates at its limit; usage counts what it actually read.
        tokens = sum(min(len(encoding.ids), limit) for encoding in tokenizer.encode_batch(texts))
        if max_tokens is not None and tokens > max_tokens:
            raise InvalidRequest(
                f"The inputs hold {tokens} tokens (each counted up to the model's {limit}); at most "
                f"{max_tokens} are allowed per request: send fewer or shorter inputs.",
                param="input",
            )
        step = max(1, encoder.batch_size)
        parts: list[np.ndarray] = []
        for start in range(0, len(texts), step):
            if stop is not None and stop.is_set():
                raise EmbeddingAbandoned
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded("the request's deadline passed while its inputs were being embedded")
            parts.append(encoder.encode(texts[start : start + step]))
        vectors = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return vectors, tokens


class EmbeddingAbandoned(Exception):
    """The client left: the rest of its inputs were not encoded."""
