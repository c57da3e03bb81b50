"""The embedding model the gateway serves in-process (``EmbeddingService``)."""

from gateway.embeddings.service import EmbeddingService

__all__ = ["EmbeddingService"]
