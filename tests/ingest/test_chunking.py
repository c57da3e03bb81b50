"""Token-aware chunking, checked with the real all-MiniLM-L6-v2 tokenizer on generated and written text."""

from __future__ import annotations

import random
import re
from itertools import pairwise

import pytest
from tokenizers import Tokenizer

from genai.embedding.tokenizer import load_tokenizer, special_token_count
from genai.ingest.chunking import _sentences, _tokenize, check_fits_model, chunk_document, chunk_documents
from genai.ingest.records import Chunk, DocumentType, ParsedDocument
from genai.settings import ChunkingSettings

PROSE = (
    "Retrieval quality depends on how documents are cut. A chunk that is too long is truncated by the "
    "embedding model, e.g. the tail of a 400-token passage is simply never seen. Dr. Smith's team measured "
    "this in 2023! Chunks that are too short lose context, so answers cite fragments. Does overlap help? "
    'Usually it does, at the cost of about 15% more vectors. "Measure before tuning," as Prof. Lee says. '
    "Version 3.14 of the pipeline fixed a bug where U.S. dates were parsed as days."
)
UNICODE = (
    "Café crème, naïve façade and Ångström units. 日本語の文章です。中文句子也在这里\uff01 "
    "Emoji 🎉🚀 and flags 🇫🇷 appear too. Ελληνικά γράμματα και Русский текст. "
    "Ünïcödé wörds, ﬁligree and ½ fractions. 한국어 문장도 있습니다."
)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return load_tokenizer("all-MiniLM-L6-v2")


def make_doc(text: str, doc_type: DocumentType = "markdown", doc_id: str = "doc.md") -> ParsedDocument:
    return ParsedDocument(
        doc_id=doc_id, source=doc_id, title=doc_id, type=doc_type, size_bytes=len(text.encode()), text=text
    )


def n_tokens(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def generated_markdown(seed: int, sections: int = 12) -> str:
    """A markdown-like document mixing prose, lists, code, URLs, numbers and non-Latin scripts."""
    rng = random.Random(seed)
    words = [
        "pipeline",
        "embedding",
        "vector",
        "chunk",
        "tokenizer",
        "retrieval",
        "Qdrant",
        "Prefect",
        "gateway",
        "latency",
        "throughput",
        "42",
        "3.5%",
        "v1.2.3",
        "https://example.com/a/b?c=d",
        "snake_case_name",
        "CamelCase",
        "O'Neil",
        "state-of-the-art",
        "naïve",
        "東京",
        "Zürich",
        "🚀",
    ]
    blocks: list[str] = []
    for s in range(sections):
        blocks.append(f"{'#' * rng.randint(1, 3)} Section {s} title")
        for _ in range(rng.randint(1, 5)):
            kind = rng.random()
            if kind < 0.15:
                blocks.append("\n".join(f"- {rng.choice(words)} {rng.choice(words)}" for _ in range(6)))
            elif kind < 0.25:
                blocks.append("```\n# comment, not a heading\nx = compute(1, 2)\n```")
            elif kind < 0.35:
                blocks.append(UNICODE)
            else:
                sentences = [
                    " ".join(rng.choice(words) for _ in range(rng.randint(4, 40))).capitalize()
                    + rng.choice([".", ".", "!", "?"])
                    for _ in range(rng.randint(1, 14))
                ]
                blocks.append(" ".join(sentences))
    return "\n\n".join(blocks)


def corpus() -> list[ParsedDocument]:
    docs = [make_doc(generated_markdown(seed), doc_id=f"gen-{seed}.md") for seed in range(4)]
    docs.append(make_doc("\n\n".join([PROSE, UNICODE] * 20), "text", "prose.txt"))
    return docs


SIZES = [
    ChunkingSettings(),
    ChunkingSettings(chunk_tokens=64, overlap_tokens=0),
    ChunkingSettings(chunk_tokens=128, overlap_tokens=16),
    ChunkingSettings(chunk_tokens=16, overlap_tokens=7),
]


def assert_well_formed(doc: ParsedDocument, chunks: list[Chunk], settings: ChunkingSettings) -> None:
    assert [c.chunk_no for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.doc_id == doc.doc_id
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.token_count <= settings.chunk_tokens


def covered(doc: ParsedDocument, chunks: list[Chunk]) -> str:
    """The document's non-space characters that no chunk contains."""
    inside = [False] * len(doc.text)
    for chunk in chunks:
        inside[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    return "".join(ch for ch, seen in zip(doc.text, inside, strict=True) if not seen and not ch.isspace())


@pytest.mark.parametrize("settings", SIZES, ids=lambda s: f"{s.chunk_tokens}-{s.overlap_tokens}")
def test_sizes_offsets_counts_and_coverage_on_a_corpus(
    tokenizer: Tokenizer, settings: ChunkingSettings
) -> None:
    mismatches = total = 0
    for doc in corpus():
        chunks = chunk_document(doc, tokenizer, settings)
        assert_well_formed(doc, chunks, settings)
        assert covered(doc, chunks) == ""  # nothing is dropped between chunks
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)
        total += len(chunks)
        mismatches += sum(c.token_count != n_tokens(tokenizer, c.text) for c in chunks)
    assert total > 20
    assert mismatches == 0


def test_empty_and_whitespace_only_documents_give_no_chunks(tokenizer: Tokenizer) -> None:
    for text in ["", "   ", "\n\n \t\n"]:
        assert chunk_document(make_doc(text), tokenizer, ChunkingSettings()) == []


def test_short_document_is_one_trimmed_chunk(tokenizer: Tokenizer) -> None:
    doc = make_doc("\n\n  Hello world. Second sentence.  \n")
    [chunk] = chunk_document(doc, tokenizer, ChunkingSettings())
    assert chunk.text == "Hello world. Second sentence."
    assert (chunk.start, chunk.end) == (4, 33)
    assert chunk.token_count == 6
    assert chunk.heading_path == []


def test_overlap_repeats_a_bounded_sentence_aligned_tail(tokenizer: Tokenizer) -> None:
    rng = random.Random(1)
    topics = ["tokens", "vectors", "flows"]
    sentences = [f"Sentence {i} talks about {rng.choice(topics)} today." for i in range(200)]
    doc = make_doc(" ".join(sentences), "text")
    settings = ChunkingSettings(chunk_tokens=100, overlap_tokens=20)
    chunks = chunk_document(doc, tokenizer, settings)
    assert len(chunks) > 5
    for previous, chunk in pairwise(chunks):
        assert chunk.start < previous.end, "each later chunk must repeat the previous one's tail"
        shared = doc.text[chunk.start : previous.end]
        assert 10 <= n_tokens(tokenizer, shared) <= 20
        assert chunk.text.startswith("Sentence "), "the overlap starts on a sentence boundary"
        assert previous.text.endswith(shared)


def test_overlap_is_dropped_rather_than_opening_mid_word_or_on_punctuation(tokenizer: Tokenizer) -> None:
    # 12 tokens per sentence: 'super', ten '##' pieces and '!'. The last 6 tokens of a chunk begin no word
    # except at the '!', so there is no clean place for an overlap to start.
    doc = make_doc(" ".join(["Supercalifragilisticexpialidocious!"] * 100), "text")
    chunks = chunk_document(doc, tokenizer, ChunkingSettings(chunk_tokens=32, overlap_tokens=6))
    assert len(chunks) > 10
    assert all(c.text.startswith("Super") for c in chunks)
    assert all(c.token_count == n_tokens(tokenizer, c.text) for c in chunks)


def test_overlap_zero_means_disjoint_and_tightly_packed_chunks(tokenizer: Tokenizer) -> None:
    doc = make_doc(" ".join(f"Fact number {i} is short." for i in range(300)), "text")
    settings = ChunkingSettings(chunk_tokens=64, overlap_tokens=0)
    chunks = chunk_document(doc, tokenizer, settings)
    assert all(b.start > a.end for a, b in pairwise(chunks))
    # Every sentence has the same token count, so greedy packing puts as many as fit in each full chunk.
    [per_sentence] = {n_tokens(tokenizer, f"Fact number {i} is short.") for i in range(300)}
    assert {c.token_count for c in chunks[:-1]} == {64 // per_sentence * per_sentence}


def test_changing_chunk_tokens_changes_sizes(tokenizer: Tokenizer) -> None:
    doc = make_doc("\n\n".join([PROSE] * 30), "text")
    small = chunk_document(doc, tokenizer, ChunkingSettings(chunk_tokens=64, overlap_tokens=0))
    large = chunk_document(doc, tokenizer, ChunkingSettings(chunk_tokens=240, overlap_tokens=0))
    assert max(c.token_count for c in small) <= 64 < max(c.token_count for c in large) <= 240
    assert len(small) > 3 * len(large)


NESTED = """Preamble before any heading.

# Install

Install it first.

## From source

Clone the repository.

```
# a comment inside a code fence, not a heading
make build
```

### Linux ###

Use the package manager.

## From PyPI

Run pip.

# Usage

## Options
### Advanced

Tune everything.

# Empty at the end"""


def test_heading_paths_on_nested_markdown(tokenizer: Tokenizer) -> None:
    chunks = chunk_document(make_doc(NESTED), tokenizer, ChunkingSettings())
    got = [(c.heading_path, c.text.splitlines()[0]) for c in chunks]
    assert got == [
        ([], "Preamble before any heading."),
        (["Install"], "# Install"),
        (["Install", "From source"], "## From source"),
        (["Install", "From source", "Linux"], "### Linux ###"),
        (["Install", "From PyPI"], "## From PyPI"),
        # Headings with no text of their own open the chunk of the first heading that has some.
        (["Usage", "Options", "Advanced"], "# Usage"),
        (["Empty at the end"], "# Empty at the end"),
    ]
    assert "make build" in chunks[2].text


@pytest.mark.parametrize("doc_type", ["html", "docx"])
def test_headings_apply_to_html_and_docx(tokenizer: Tokenizer, doc_type: DocumentType) -> None:
    doc = make_doc("# Title\n\nBody.\n\n## Part\n\nMore.", doc_type)
    chunks = chunk_document(doc, tokenizer, ChunkingSettings())
    assert [c.heading_path for c in chunks] == [["Title"], ["Title", "Part"]]


@pytest.mark.parametrize("doc_type", ["text", "pdf"])
def test_hash_lines_are_plain_text_in_text_and_pdf(tokenizer: Tokenizer, doc_type: DocumentType) -> None:
    doc = make_doc("# 1 item\n\nBody.\n\n# 2 items\n\nMore.", doc_type)
    chunks = chunk_document(doc, tokenizer, ChunkingSettings())
    assert len(chunks) == 1
    assert chunks[0].heading_path == []


def test_huge_sentence_without_punctuation_is_split_between_words(tokenizer: Tokenizer) -> None:
    rng = random.Random(3)
    vocabulary = ["alpha", "tokenization", "unbelievably", "x", "embeddings"]
    text = " ".join(rng.choice(vocabulary) for _ in range(3000))
    doc = make_doc(text, "text")
    settings = ChunkingSettings(chunk_tokens=100, overlap_tokens=10)
    chunks = chunk_document(doc, tokenizer, settings)
    assert len(chunks) > 20
    assert_well_formed(doc, chunks, settings)
    assert covered(doc, chunks) == ""
    for chunk in chunks:
        # Cuts fall between words, never inside 'unbelievably', so counts match a fresh tokenization.
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " "
        assert chunk.token_count == n_tokens(tokenizer, chunk.text)
    assert all(b.start < a.end for a, b in pairwise(chunks))


def test_unicode_offsets_are_character_offsets(tokenizer: Tokenizer) -> None:
    doc = make_doc(" ".join([UNICODE] * 40), "text")
    settings = ChunkingSettings(chunk_tokens=32, overlap_tokens=6)
    chunks = chunk_document(doc, tokenizer, settings)
    assert len(chunks) > 10
    assert_well_formed(doc, chunks, settings)
    assert covered(doc, chunks) == ""
    assert all(c.token_count == n_tokens(tokenizer, c.text) for c in chunks)
    # Character (not byte) offsets: emoji and CJK text sit exactly where the slices say, and every chunk
    # opens on a letter (a sentence start or an overlap word), never inside an emoji or on punctuation.
    assert any("🎉🚀" in c.text for c in chunks)
    assert all(c.text[0].isalnum() for c in chunks)
    # Hangul has no capitals, yet it still opens a sentence, so packing never cuts this one in two.
    assert all(("한국어" in c.text) == ("한국어 문장도 있습니다." in c.text) for c in chunks)


def test_sentence_splitter_respects_abbreviations_and_numbers() -> None:
    text = (
        "Dr. Smith met Mr. J. Doe, e.g. at 3.14 p.m. in the U.S. office. It rained! Did it? "
        '"Yes," she said. Then 42 people left. done? no.'
    )
    got = [text[a:b] for a, b in _sentences(text, (0, len(text)))]
    assert got == [
        "Dr. Smith met Mr. J. Doe, e.g. at 3.14 p.m. in the U.S. office.",
        "It rained!",
        "Did it?",
        '"Yes," she said.',
        "Then 42 people left. done? no.",
    ]


def test_cjk_sentences_split_without_spaces() -> None:
    bang = "\uff01"  # full-width exclamation mark
    text = f"日本語の文章です。中文句子{bang}最後の文. 한국어 문장도 있습니다. Done"
    assert [text[a:b] for a, b in _sentences(text, (0, len(text)))] == [
        "日本語の文章です。",
        f"中文句子{bang}",
        "最後の文.",
        "한국어 문장도 있습니다.",
        "Done",
    ]


def test_same_input_gives_same_chunks(tokenizer: Tokenizer) -> None:
    doc = make_doc(generated_markdown(9))
    settings = ChunkingSettings(chunk_tokens=80, overlap_tokens=12)
    first = [c.model_dump() for c in chunk_document(doc, tokenizer, settings)]
    second = [c.model_dump() for c in chunk_document(doc.model_copy(), tokenizer, settings)]
    assert first == second and len(first) > 5


def test_chunk_documents_numbers_each_document_from_zero(tokenizer: Tokenizer) -> None:
    docs = [make_doc(generated_markdown(s, 3), doc_id=f"d{s}") for s in range(3)]
    docs.append(make_doc("  ", doc_id="blank"))
    chunks = chunk_documents(docs, tokenizer, ChunkingSettings(chunk_tokens=64, overlap_tokens=8))
    by_doc = {d.doc_id: [c.chunk_no for c in chunks if c.doc_id == d.doc_id] for d in docs}
    assert by_doc["blank"] == []
    for doc_id in ("d0", "d1", "d2"):
        assert by_doc[doc_id] == list(range(len(by_doc[doc_id]))) and by_doc[doc_id]
    assert [c.doc_id for c in chunks] == sorted(c.doc_id for c in chunks)


def test_large_document_tokenized_in_blocks_matches_one_encode(tokenizer: Tokenizer) -> None:
    text = "\n\n".join(generated_markdown(s, 30) for s in range(3)) + " " + "word " * 20000
    assert len(text) > 4 * 8192
    single = [start for start, _ in tokenizer.encode(text, add_special_tokens=False).offsets]
    assert _tokenize(text, tokenizer).starts == single


def test_check_fits_model(tokenizer: Tokenizer) -> None:
    specials = special_token_count(tokenizer)
    assert specials == 2
    check_fits_model(ChunkingSettings(), 256, specials)  # the defaults fit all-MiniLM-L6-v2
    check_fits_model(ChunkingSettings(chunk_tokens=254), 256, specials)
    with pytest.raises(ValueError, match=re.escape("chunk_tokens to at most 254")):
        check_fits_model(ChunkingSettings(chunk_tokens=255), 256, specials)
