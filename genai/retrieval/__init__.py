"""Retrieval: the one search that the CLI, the gateway (retrieval-augmented context) and evaluation share.

``search`` (``genai.retrieval.query``) ranks a knowledge base's chunks for a query by dense vectors, by
BM25-style sparse vectors (``genai.retrieval.sparse``) or by both fused with weighted reciprocal rank
fusion (``genai.retrieval.fusion``); it can return one hit per document (``genai.retrieval.grouping``).
``expand_neighbours`` turns hits into answer passages with their neighbouring chunks.
How it works and how to choose: docs/retrieval.md.
"""

from genai.retrieval.errors import SparseIndexMissingError, UnknownKnowledgeBaseError
from genai.retrieval.neighbours import Passage, expand_neighbours
from genai.retrieval.query import search

__all__ = ["Passage", "SparseIndexMissingError", "UnknownKnowledgeBaseError", "expand_neighbours", "search"]
