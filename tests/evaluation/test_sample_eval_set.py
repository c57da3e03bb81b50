"""The sample eval set shipped for the demo knowledge base: it passes its own checks, names documents by
the doc ids ingestion gives the demo corpus, and every reference answer is in a chunk of each of its
relevant documents, as ingestion cuts them (so an extractive baseline can score)."""

from __future__ import annotations

from pathlib import Path

import pytest

import genai.demo
from genai.cli.demo_cmd import DEMO_KB
from genai.demo.corpus import write_sample_corpus
from genai.embedding.tokenizer import load_tokenizer
from genai.evaluation.answer_metrics import normalize_answer
from genai.evaluation.eval_set import EvalSet, load_eval_set
from genai.ingest.chunking import chunk_document
from genai.ingest.parsers import parse
from genai.ingest.sources import discover
from genai.settings import ChunkingSettings, EmbeddingSettings, IngestSettings

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(genai.demo.__file__).parent / "eval_set.jsonl"


@pytest.fixture(scope="module")
def sample() -> EvalSet:
    return load_eval_set(SAMPLE)


@pytest.fixture(scope="module")
def corpus_chunks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """doc id -> chunk texts of the demo corpus, written as `genai demo` writes it from a checkout and
    cut as ingestion cuts it."""
    corpus = tmp_path_factory.mktemp("sample-kb")
    write_sample_corpus(corpus, ROOT)
    ingest = IngestSettings()
    tokenizer = load_tokenizer(EmbeddingSettings().model)
    chunks: dict[str, list[str]] = {}
    for source in discover(corpus, ingest.include, ingest.exclude):
        doc = parse(source, ingest.max_document_bytes)
        chunks[doc.doc_id] = [c.text for c in chunk_document(doc, tokenizer, ChunkingSettings())]
    return chunks


def test_the_sample_set_passes_its_checks_and_asks_the_demo_knowledge_base(sample: EvalSet) -> None:
    assert 30 <= len(sample) <= 40
    assert sample.knowledge_bases == [DEMO_KB]


def test_every_relevant_doc_id_is_a_doc_id_of_the_demo_corpus(
    sample: EvalSet, corpus_chunks: dict[str, list[str]]
) -> None:
    missing = {
        (example.id, doc_id)
        for example in sample.examples
        for doc_id in example.relevant_doc_ids
        if doc_id not in corpus_chunks
    }
    assert not missing, f"not in the demo corpus: {sorted(missing)} (corpus: {sorted(corpus_chunks)})"


def test_every_reference_answer_is_in_a_chunk_of_each_relevant_document(
    sample: EvalSet, corpus_chunks: dict[str, list[str]]
) -> None:
    absent = []
    for example in sample.examples:
        answer = f" {normalize_answer(example.reference_answer)} "
        assert answer.strip(), example.id
        for doc_id in example.relevant_doc_ids:
            texts = [f" {normalize_answer(text)} " for text in corpus_chunks.get(doc_id, [])]
            if not any(answer in text for text in texts):
                absent.append((example.id, doc_id, example.reference_answer))
    assert not absent, f"reference answers not found in one chunk of their documents: {absent}"
