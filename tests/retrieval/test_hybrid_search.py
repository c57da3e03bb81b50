"""Dense, sparse and hybrid search on real Qdrant (local mode, the test's own folder) with the real
embedding model, on knowledge bases written by the real ingestion stages."""

from __future__ import annotations

import pytest

from genai.embedding.encoder import Encoder
from genai.retrieval import SparseIndexMissingError, search
from genai.settings import KnowledgeBaseRetrieval, Settings
from genai.stores.vectors import VectorStore
from tests.retrieval.corpus import (
    DENSE_FIRST,
    EXACT_DOC,
    EXACT_QUERY,
    document,
    views_documents,
    write_kb,
    write_legacy_kb,
)

pytestmark = pytest.mark.usefixtures("packaged_encoder")


def with_kb(settings: Settings, kb: str, **override: object) -> Settings:
    """``settings`` with a per knowledge base override of the retrieval section."""
    retrieval = settings.retrieval.model_copy(
        update={"knowledge_bases": {kb: KnowledgeBaseRetrieval.model_validate(override)}}
    )
    return settings.model_copy(update={"retrieval": retrieval})


def top(settings: Settings, kb: str, query: str, **kwargs: object) -> list[str]:
    return [hit.doc_id for hit in search(kb, query, 3, settings=settings, **kwargs)]  # type: ignore[arg-type]


def test_sparse_finds_the_exact_name_that_dense_ranks_second(
    settings: Settings, packaged_encoder: Encoder
) -> None:
    write_kb(settings, "views", views_documents())

    assert top(settings, "views", EXACT_QUERY, mode="dense")[0] == DENSE_FIRST
    assert top(settings, "views", EXACT_QUERY, mode="sparse")[0] == EXACT_DOC
    sparse = search("views", EXACT_QUERY, 3, settings=settings, mode="sparse")
    assert sparse[0].score > sparse[1].score > 0  # BM25 scores, IDF from the collection


def test_rrf_weights_decide_between_the_rankings(settings: Settings) -> None:
    write_kb(settings, "views", views_documents())

    leaning_sparse = with_kb(settings, "views", sparse_weight=2.0)
    leaning_dense = with_kb(settings, "views", dense_weight=2.0)
    assert top(leaning_sparse, "views", EXACT_QUERY, mode="hybrid")[0] == EXACT_DOC
    assert top(leaning_dense, "views", EXACT_QUERY, mode="hybrid")[0] == DENSE_FIRST
    # Both rankings agree on a name whose words are not shared: fusion keeps it first whatever the weights.
    assert top(leaning_dense, "views", "pg_stat_archiver", mode="hybrid")[0] == "archiver.md"


def test_the_configured_mode_is_used_when_the_caller_names_none(settings: Settings) -> None:
    write_kb(settings, "views", views_documents())

    assert top(with_kb(settings, "views", mode="sparse"), "views", EXACT_QUERY)[0] == EXACT_DOC
    assert top(with_kb(settings, "views", mode="dense"), "views", EXACT_QUERY)[0] == DENSE_FIRST


def test_grouping_gives_one_hit_per_document_citing_its_best_chunk(settings: Settings) -> None:
    small = settings.model_copy(
        update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 24, "overlap_tokens": 2})}
    )
    long = " ".join(
        f"Step {n}: the vacuum_cost_delay setting pauses vacuum for a while after each batch of pages."
        for n in range(1, 9)
    )
    docs = [document("vacuum.md", "Vacuum cost", long), *views_documents()]
    write_kb(small, "vacuum", docs)

    chunks = search("vacuum", "vacuum_cost_delay", 5, settings=small, mode="hybrid")
    assert [hit.doc_id for hit in chunks].count("vacuum.md") > 1
    grouped = search("vacuum", "vacuum_cost_delay", 5, settings=small, mode="hybrid", group_by_document=True)
    doc_ids = [hit.doc_id for hit in grouped]
    assert len(doc_ids) == len(set(doc_ids)) == 5
    assert grouped[0].doc_id == "vacuum.md" and grouped[0].chunk_no == chunks[0].chunk_no  # the best chunk
    assert grouped[0].citation == chunks[0].citation


def test_a_knowledge_base_from_before_sparse_vectors_is_still_searched_dense(settings: Settings) -> None:
    write_legacy_kb(settings, "old", views_documents())
    with VectorStore(settings.qdrant) as store:
        layout = store.layout("old")
    assert layout is not None and not layout.named and not layout.sparse

    # The section's default mode is hybrid: inherited, it falls back to dense for this knowledge base.
    assert settings.retrieval.mode == "hybrid"
    assert top(settings, "old", "WAL archiver failed counts")[0] == "archiver.md"
    assert top(settings, "old", EXACT_QUERY, mode="dense")[0] == DENSE_FIRST


@pytest.mark.parametrize("mode", ["sparse", "hybrid"])
def test_sparse_on_a_knowledge_base_without_sparse_vectors_names_the_fix(
    settings: Settings, mode: str
) -> None:
    write_legacy_kb(settings, "old", views_documents())

    with pytest.raises(SparseIndexMissingError, match=r"Re-ingest it with retrieval\.sparse on") as raised:
        search("old", EXACT_QUERY, 3, settings=settings, mode=mode)  # type: ignore[arg-type]
    assert "'old'" in str(raised.value) and mode in str(raised.value)
    # Set for the knowledge base explicitly, the mode is refused too, rather than silently ignored.
    with pytest.raises(SparseIndexMissingError):
        search("old", EXACT_QUERY, 3, settings=with_kb(settings, "old", mode=mode))


def test_sparse_off_writes_dense_only_and_refuses_sparse_search(settings: Settings) -> None:
    write_kb(with_kb(settings, "dense-only", sparse=False), "dense-only", views_documents())
    with VectorStore(settings.qdrant) as store:
        layout = store.layout("dense-only")
    assert layout is not None and layout.named and not layout.sparse
    assert top(settings, "dense-only", EXACT_QUERY)[0] == DENSE_FIRST
    with pytest.raises(SparseIndexMissingError):
        search("dense-only", EXACT_QUERY, 3, settings=settings, mode="sparse")


def test_an_unknown_mode_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown search mode"):
        search("views", "q", 3, settings=settings, mode="fuzzy")  # type: ignore[arg-type]
