"""Retrieval metrics: hand-computed values on small rankings, and an independent re-computation of
nDCG, MRR and hit@k over random rankings."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from genai.embedding.encoder import Encoder
from genai.evaluation.retrieval_metrics import hit_at_k, ndcg_at_k, ranked_doc_ids, reciprocal_rank
from genai.ingest.records import Chunk
from genai.retrieval import search
from genai.settings import Settings
from genai.stores.vectors import VectorStore


def test_repeated_doc_ids_collapse_to_their_first_rank() -> None:
    assert ranked_doc_ids(["a", "a", "b", "a", "c", "b"]) == ["a", "b", "c"]
    assert ranked_doc_ids([]) == []


def test_hit_at_k_counts_documents_not_chunks() -> None:
    chunks = ["x", "x", "x", "rel"]  # four chunks, but 'rel' is the 2nd document
    assert hit_at_k(chunks, {"rel"}, 2) == 1.0
    assert hit_at_k(chunks, {"rel"}, 1) == 0.0
    assert hit_at_k([], {"rel"}, 5) == 0.0


def test_reciprocal_rank_by_hand() -> None:
    assert reciprocal_rank(["a", "b", "c"], {"a"}) == 1.0
    assert reciprocal_rank(["a", "a", "b", "c"], {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a", "b", "c"], {"c", "b"}) == 0.5
    assert reciprocal_rank(["a", "b", "c"], {"z"}) == 0.0
    assert reciprocal_rank(["a", "b", "c"], {"c"}, k=2) == 0.0


def test_ndcg_by_hand() -> None:
    # One relevant doc at rank 2: DCG = 1/log2(3); ideal = 1/log2(2) = 1.
    assert ndcg_at_k(["a", "rel", "b"], {"rel"}, 3) == pytest.approx(1 / math.log2(3))
    # Two relevant docs at ranks 1 and 3, k=3: DCG = 1 + 1/2; ideal = 1 + 1/log2(3).
    assert ndcg_at_k(["r1", "x", "r2"], {"r1", "r2"}, 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # Three relevant, k=2, both slots relevant: perfect although one relevant doc is not retrieved.
    assert ndcg_at_k(["r1", "r2", "x"], {"r1", "r2", "r3"}, 2) == pytest.approx(1.0)
    # Duplicate chunks of a relevant doc do not add gain.
    assert ndcg_at_k(["rel", "rel", "rel"], {"rel"}, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "b"], {"rel"}, 2) == 0.0
    assert ndcg_at_k(["a"], set(), 2) == 0.0


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        hit_at_k(["a"], {"a"}, 0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        ndcg_at_k(["a"], {"a"}, 0)


def _reference_ndcg(chunks: list[str], relevant: set[str], k: int) -> float:
    """nDCG from its textbook definition, written independently: gains list, discount by position."""
    seen: list[str] = []
    for doc in chunks:
        if doc not in seen:
            seen.append(doc)
    gains = [1 if doc in relevant else 0 for doc in seen[:k]]
    dcg = sum(g / math.log(position + 1, 2) for position, g in enumerate(gains, start=1))
    ideal_gains = sorted([1] * len(relevant) + [0] * k, reverse=True)[:k]
    idcg = sum(g / math.log(position + 1, 2) for position, g in enumerate(ideal_gains, start=1))
    return dcg / idcg if idcg else 0.0


def test_metrics_equal_an_independent_computation_on_random_rankings() -> None:
    rng = random.Random(1234)
    docs = [f"d{i}" for i in range(12)]
    for _ in range(500):
        chunks = [rng.choice(docs) for _ in range(rng.randint(0, 15))]
        relevant = set(rng.sample(docs, rng.randint(1, 4)))
        k = rng.randint(1, 10)
        distinct = list(dict.fromkeys(chunks))
        first = next((i for i, d in enumerate(distinct[:k], start=1) if d in relevant), None)
        assert ndcg_at_k(chunks, relevant, k) == pytest.approx(_reference_ndcg(chunks, relevant, k))
        assert reciprocal_rank(chunks, relevant, k) == (1 / first if first else 0.0)
        assert hit_at_k(chunks, relevant, k) == (1.0 if first else 0.0)
        assert 0.0 <= ndcg_at_k(chunks, relevant, k) <= 1.0 + 1e-12


PASSAGES = {
    "vectors.md": [
        "Chunk vectors are kept in Qdrant, one collection per knowledge base, with cosine distance.",
        "Qdrant's local mode keeps its files under the platform home; production uses a Qdrant server.",
    ],
    "documents.md": [
        "Documents and their chunks are kept in the SQL database, or in MongoDB when configured.",
        "A document record is written after its chunks, so it marks the document as complete.",
    ],
    "quarantine.md": ["Files that fail a quality check are quarantined with the failed check and a reason."],
    "prefect.md": ["Prefect runs the ingestion flow; every run leaves a summary artifact in the UI."],
    "gateway.md": ["The gateway speaks the OpenAI protocol and routes each model to its worker pool."],
}
QUERIES = [
    ("Where are vectors stored?", {"vectors.md"}),
    ("Which database holds documents and chunks?", {"documents.md"}),
    ("What happens to a file that fails a check?", {"quarantine.md", "documents.md"}),
    ("How are requests routed to models?", {"gateway.md", "prefect.md"}),
]


def test_metrics_on_real_search_results_equal_an_independent_computation(
    tmp_path: Path, packaged_encoder: Encoder
) -> None:
    settings = Settings(home=tmp_path)
    chunks = [
        Chunk(doc_id=doc_id, chunk_no=no, text=text, start=0, end=len(text), token_count=10)
        for doc_id, texts in PASSAGES.items()
        for no, text in enumerate(texts)
    ]
    vectors = packaged_encoder.encode([c.text for c in chunks])
    extras = {"doc_hash": "h", "pipeline_version": "v", "source": "s", "title": "t", "type": "text"}
    with VectorStore(settings.qdrant) as store:
        store.ensure_collection("eval-kb", packaged_encoder.dim)
        points = [(c, v, {**extras, "source": c.doc_id}) for c, v in zip(chunks, vectors, strict=True)]
        store.upsert("eval-kb", points)
        checked = 0
        for query, relevant in QUERIES:
            hits = search("eval-kb", query, k=len(chunks), settings=settings, vectors=store)
            chunk_doc_ids = [hit.doc_id for hit in hits]
            assert len(chunk_doc_ids) > len(set(chunk_doc_ids))  # repeated doc ids: the collapse matters
            distinct = list(dict.fromkeys(chunk_doc_ids))
            for k in (1, 2, 3, 5):
                first = next((i for i, d in enumerate(distinct[:k], start=1) if d in relevant), None)
                assert hit_at_k(chunk_doc_ids, relevant, k) == (1.0 if first else 0.0)
                assert reciprocal_rank(chunk_doc_ids, relevant, k) == (1 / first if first else 0.0)
                assert ndcg_at_k(chunk_doc_ids, relevant, k) == pytest.approx(
                    _reference_ndcg(chunk_doc_ids, relevant, k)
                )
                checked += 1
    assert checked == 16
