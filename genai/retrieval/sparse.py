"""BM25-style sparse vectors, computed in process (no model, nothing to download).

Document side: each term of a chunk weighs BM25's saturated, length-normalised term frequency,
``tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / AVERAGE_TERMS))``, with ``k1 = 1.2`` and ``b = 0.75``.
``AVERAGE_TERMS`` is a fixed typical chunk length rather than the collection's own average: a chunk's
vector must not change when other documents come or go, and chunks are bounded in size anyway. Query side:
each distinct term weighs 1. The IDF factor is Qdrant's (the collection's sparse vector has the IDF
modifier), so a point's score is BM25's sum over the query's terms of IDF times the document weight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from genai.retrieval.terms import TERMS_VERSION, term_id, terms
from genai.stores.vectors_hybrid import SparseTerms

K1 = 1.2
B = 0.75
AVERAGE_TERMS = 160.0  # terms in a typical 240-token chunk (identifiers yield their parts too)
# Part of the pipeline version: a change here rebuilds every knowledge base's sparse vectors.
SPARSE_VERSION = f"bm25-{TERMS_VERSION}-{K1}-{B}-{AVERAGE_TERMS}"


def _vector(weights: dict[int, float]) -> SparseTerms:
    indices = sorted(weights)
    return SparseTerms(indices=indices, values=[weights[index] for index in indices])


def document_vector(text: str) -> SparseTerms:
    """The BM25 document-side weights of ``text``'s terms."""
    found = terms(text)
    if not found:
        return SparseTerms(indices=[], values=[])
    norm = K1 * (1 - B + B * len(found) / AVERAGE_TERMS)
    weights: dict[int, float] = {}
    for term, tf in Counter(found).items():
        index = term_id(term)
        weights[index] = weights.get(index, 0.0) + tf * (K1 + 1) / (tf + norm)
    return _vector(weights)


def document_vectors(texts: Sequence[str]) -> list[SparseTerms]:
    """``document_vector`` of each text."""
    return [document_vector(text) for text in texts]


def query_vector(text: str) -> SparseTerms:
    """The query's distinct terms, weight 1 each (Qdrant applies IDF)."""
    return _vector({term_id(term): 1.0 for term in terms(text)})
