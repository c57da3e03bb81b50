"""Tests of genai.retrieval: terms, sparse vectors, fusion, grouping, neighbours and hybrid search."""
