"""Contextual chunks and neighbour expansion, on real Qdrant (local mode) with the real embedding model."""

from __future__ import annotations

import itertools

import pytest

from genai.ingest.records import Chunk, ScoredChunk
from genai.ingest.versioning import pipeline_version
from genai.retrieval import expand_neighbours, search
from genai.retrieval.contextual import MAX_PREFIX_CHARS, context_prefix, index_texts
from genai.retrieval.neighbours import join_chunks
from genai.settings import KnowledgeBaseRetrieval, RetrievalSettings, Settings
from genai.stores.vectors import VectorStore
from tests.retrieval.corpus import document, write_kb

pytestmark = pytest.mark.usefixtures("packaged_encoder")


def chunk(text: str, heading_path: list[str], doc_id: str = "d") -> Chunk:
    return Chunk(
        doc_id=doc_id, chunk_no=0, text=text, start=0, end=len(text), token_count=3, heading_path=heading_path
    )


def test_contextual_text_puts_title_and_heading_path_before_the_chunk() -> None:
    piece = chunk("Set it to 0 to disable.", ["Server settings", "Connections", "max_connections"])
    texts = index_texts([piece], {"d": "PostgreSQL server settings"}, contextual=True)
    path = "Server settings > Connections > max_connections"
    assert texts == [f"PostgreSQL server settings\n{path}\n\nSet it to 0 to disable."]
    assert index_texts([piece], {"d": "t"}, contextual=False) == ["Set it to 0 to disable."]
    # A heading path that starts with the title does not repeat it; a huge title is capped.
    assert context_prefix("Guide", ["Guide", "Install"]) == "Guide\nInstall"
    assert len(context_prefix("x" * 1000, ["y"])) <= MAX_PREFIX_CHARS


def test_index_time_choices_change_the_pipeline_version_and_query_time_ones_do_not(
    settings: Settings,
) -> None:
    legacy = pipeline_version(settings.chunking, settings.embedding)

    def version(**fields: object) -> str:
        retrieval = RetrievalSettings(knowledge_bases={"kb": KnowledgeBaseRetrieval.model_validate(fields)})
        return pipeline_version(settings.chunking, settings.embedding, retrieval.for_kb("kb"))

    assert version(sparse=False, contextual=False) == legacy  # such knowledge bases are not re-indexed
    assert (
        len({legacy, version(sparse=True), version(contextual=True, sparse=False), version(contextual=True)})
        == 4
    )
    assert version(sparse=True) == version(sparse=True, mode="dense", rrf_k=5, dense_weight=3.0, neighbours=2)


def test_contextual_chunks_find_a_chunk_by_its_heading_while_the_stored_text_stays_its_own(
    settings: Settings,
) -> None:
    small = settings.model_copy(
        update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 32, "overlap_tokens": 2})}
    )
    text = (
        "# Autovacuum\n\nThe launcher starts workers on a schedule and each worker handles one database.\n\n"
        "## Cost limits\n\nSet it to 0 to disable the pause entirely; higher values slow the worker down.\n"
    )
    docs = [
        document("autovacuum.md", "Autovacuum tuning", text),
        document("other.md", "Logging", "Set it to 0 to disable logging of slow statements entirely."),
    ]
    plain = small.model_copy(update={"retrieval": RetrievalSettings(contextual=False)})
    contextual = small.model_copy(update={"retrieval": RetrievalSettings(contextual=True)})
    write_kb(plain, "plain", docs)
    write_kb(contextual, "ctx", docs)

    query = "autovacuum cost limit disable"
    with_context = search("ctx", query, 1, settings=contextual, mode="dense")[0]
    assert with_context.doc_id == "autovacuum.md" and with_context.heading_path == [
        "Autovacuum",
        "Cost limits",
    ]
    assert with_context.text.startswith("## Cost limits")  # the stored text: no title, no path added
    without = search("plain", query, 2, settings=plain, mode="dense")
    assert without[0].score < with_context.score


def test_join_chunks_writes_each_overlap_once() -> None:
    text = "alpha beta gamma delta epsilon"
    pieces = [(0, 16), (11, 22), (23, 30)]  # "alpha beta gamma", "gamma delta", "epsilon" (a gap before it)
    hits = [search_hit(text[start:end], number, start, end) for number, (start, end) in enumerate(pieces)]
    assert join_chunks(hits) == "alpha beta gamma delta\n\nepsilon"


def search_hit(text: str, number: int, start: int, end: int) -> ScoredChunk:
    return ScoredChunk(
        score=0.0, doc_id="d", chunk_no=number, text=text, source="d", title="d", start=start, end=end
    )


def test_neighbours_widen_a_hit_into_its_passage_once(settings: Settings) -> None:
    small = settings.model_copy(
        update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 20, "overlap_tokens": 2})}
    )
    sentences = [f"Paragraph {n} talks about topic number {n} in some detail." for n in range(8)]
    sentences[4] = "The checkpoint_timeout setting bounds the time between automatic checkpoints."
    write_kb(small, "long", [document("long.md", "Long", "\n\n".join(sentences))])

    hits = search("long", "checkpoint_timeout", 3, settings=small, mode="sparse")
    with VectorStore(small.qdrant) as store:
        none = expand_neighbours(store, "long", hits, 0)
        wide = expand_neighbours(store, "long", hits, 1)
    assert [p.expanded for p in none] == hits
    best = wide[0]
    assert best.hit == hits[0] and "checkpoint_timeout" in best.expanded.text
    assert best.expanded.citation == hits[0].citation and best.expanded.score == hits[0].score
    assert best.expanded.start < hits[0].start and best.expanded.end > hits[0].end
    numbers = [p.hit.chunk_no for p in wide]
    assert len(numbers) == len(set(numbers))
    # No chunk is in two passages: a hit inside a better hit's passage is dropped.
    for a, b in itertools.pairwise(wide):
        assert a.expanded.end <= b.expanded.start or b.expanded.end <= a.expanded.start
