"""Tests for genai.ingest.parsers.parse: text, titles and hashes of good files, and a clear reason for
every kind of bad input."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from genai.ingest import parsers
from genai.ingest.parsers import parse
from genai.ingest.records import ParsedDocument, SourceFile
from genai.ingest.sources import discover, document_type
from genai.settings import IngestSettings
from tests.fixtures.documents import (
    HUGE_BYTES,
    deny_access,
    make_pdf,
    write_bad_inputs,
    write_docx,
    write_good_corpus,
)

LIMIT = IngestSettings().max_document_bytes


def _source(path: Path, root: Path | None = None) -> SourceFile:
    rel = path.relative_to(root).as_posix() if root else path.name
    size = path.stat().st_size if path.exists() else 0
    return SourceFile(
        doc_id=rel,
        path=str(path),
        source=rel,
        type=document_type(path.name),
        size_bytes=size,
        modified=datetime.now(UTC),
    )


def _parse_file(path: Path, content: str | bytes, max_bytes: int = LIMIT) -> ParsedDocument:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return parse(_source(path), max_bytes)


# --- good files --------------------------------------------------------------------------------------


@pytest.fixture
def good(tmp_path: Path) -> dict[str, ParsedDocument]:
    corpus = write_good_corpus(tmp_path)
    found = discover(tmp_path, IngestSettings().include, IngestSettings().exclude)
    assert [f.doc_id for f in found] == sorted(corpus)
    return {f.doc_id: parse(f, LIMIT) for f in found}


def test_good_corpus_parses_with_titles_phrases_and_hashes(tmp_path: Path) -> None:
    corpus = write_good_corpus(tmp_path)
    for doc_id, expected in corpus.items():
        doc = parse(_source(tmp_path / doc_id, tmp_path), LIMIT)
        assert doc.parse_error is None, (doc_id, doc.parse_error)
        assert doc.decodable
        assert doc.type == expected.type
        assert doc.title == expected.title
        assert expected.phrase in doc.text
        assert doc.content_hash == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
        assert doc.size_bytes == (tmp_path / doc_id).stat().st_size
        assert parse(_source(tmp_path / doc_id, tmp_path), LIMIT).content_hash == doc.content_hash


def test_markdown_keeps_heading_lines(good: dict[str, ParsedDocument]) -> None:
    text = good["guide.md"].text
    assert text.startswith("# Onboarding Guide\n\nWelcome aboard.\n\n## First week\n\n")
    assert "\n## Accounts\n" in text


def test_html_drops_chrome_and_turns_headings_into_hash_lines(good: dict[str, ParsedDocument]) -> None:
    text = good["web/deploy.html"].text
    assert text.startswith("# Deployment Runbook\n\n## Before you start\n\nThis section explains")
    for chrome in ("Home", "Docs", "console.log", "Copyright", "color: red", "DOCTYPE"):
        assert chrome not in text


def test_pdf_pages_lose_shared_header_and_footer(good: dict[str, ParsedDocument]) -> None:
    doc = good["handbook.pdf"]
    assert doc.pages == 4
    assert "\f" not in doc.text
    assert "ACME Incident Handbook" not in doc.text
    assert "Page" not in doc.text
    assert doc.text.startswith("This section explains incidents")
    assert doc.text.endswith("Contact names and phone numbers live in the on-call tool.")
    assert doc.text.count("\n\n") == 3  # the four pages, joined by blank lines


def test_docx_headings_become_hash_lines(good: dict[str, ParsedDocument]) -> None:
    text = good["policies/expenses.docx"].text
    assert text.startswith("# Expense Policy\n\n## Approvals\n\nThis section explains expenses")
    assert "\n## Receipts\n" in text


def test_docx_tables_and_core_title(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Price List"
    document.add_paragraph("Prices valid this quarter.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Item", "Price"), ("Widget", "3 EUR")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(str(tmp_path / "prices.docx"))
    doc = parse(_source(tmp_path / "prices.docx"), LIMIT)
    assert doc.title == "Price List"
    assert doc.text == "Prices valid this quarter.\n\nItem | Price\nWidget | 3 EUR"


@pytest.mark.parametrize(
    ("name", "content", "title"),
    [
        ("a.md", "intro line\n\n# Real Title #\n\ntext", "Real Title"),
        ("b.md", "## Only a subheading\n\ntext", "Only a subheading"),
        ("c.md", "\n\n   first   words  \nmore", "first words"),
        ("d.txt", "\ufeffBOM title\nbody", "BOM title"),
        ("e.txt", "x" * 500, "x" * 200),
        ("f.html", "<html><body><h2>Sub</h2><h1>Main  heading</h1><p>t</p></body></html>", "Main heading"),
        ("g.html", "<p>Just a paragraph</p>", "Just a paragraph"),
        ("h.html", "<title> Tab   title </title><h1>H</h1>", "Tab title"),
    ],
)
def test_titles(tmp_path: Path, name: str, content: str, title: str) -> None:
    assert _parse_file(tmp_path / name, content).title == title


def test_pdf_title_falls_back_to_first_line(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "x.pdf", make_pdf([["Quarterly Report", "Numbers went up."]]))
    assert (doc.title, doc.text, doc.pages) == ("Quarterly Report", "Quarterly Report\nNumbers went up.", 1)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "bom.md", b"\xef\xbb\xbf# Caf\xc3\xa9\n")
    assert (doc.text, doc.title, doc.decodable, doc.parse_error) == ("# Caf\u00e9", "Caf\u00e9", True, None)


def test_html_inline_text_and_entities(tmp_path: Path) -> None:
    html = "<p>Hello <b>bold</b>\n   world &amp; <i>more</i></p><ul><li>one</li><li>two</li></ul>a<br>b"
    assert _parse_file(tmp_path / "x.html", html).text == "Hello bold world & more\n\n- one\n- two\n\na\nb"


def test_deeply_nested_html_does_not_crash(tmp_path: Path) -> None:
    html = "<div>" * 3000 + "deep text" + "</div>" * 3000
    doc = _parse_file(tmp_path / "deep.html", html)
    assert doc.parse_error is None and doc.text == "deep text"


def test_parsers_import_heavy_libraries_lazily() -> None:
    code = (
        "import sys, genai.ingest.parsers; "
        "print(sorted(m for m in ('pypdf', 'docx', 'bs4') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- bad inputs --------------------------------------------------------------------------------------


def test_every_bad_input_gets_a_reason_and_good_files_beside_it_still_parse(tmp_path: Path) -> None:
    bad = write_bad_inputs(tmp_path)
    good = write_good_corpus(tmp_path)
    found = discover(tmp_path, IngestSettings().include, IngestSettings().exclude)
    docs = {f.doc_id: parse(f, LIMIT) for f in found}
    assert set(docs) == set(bad) | set(good)
    for doc_id, expected in bad.items():
        reason = docs[doc_id].parse_error
        assert reason is not None and expected.reason in reason, (doc_id, reason)
        assert docs[doc_id].text == ""
    for doc_id in good:
        assert docs[doc_id].parse_error is None and docs[doc_id].text


def test_binary_file_named_txt(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not doc.decodable
    assert doc.parse_error == "binary content: NUL byte at offset 8; this is not a text file"


def test_control_characters_without_nul_are_binary(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "noise.md", bytes(range(1, 32)) * 10 + b"some text")
    assert not doc.decodable
    assert doc.parse_error is not None and doc.parse_error.startswith("binary content: 270 of 319 characters")


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "bad.txt", b"ok line\n\xff\xfe broken")
    assert not doc.decodable
    assert doc.parse_error == "invalid UTF-8 at byte offset 8 (bytes ff fe 20 62); save the file as UTF-8"


def test_invalid_utf8_offset_counts_the_bom(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "bad.md", b"\xef\xbb\xbfab\xc3")
    assert doc.parse_error is not None and "byte offset 5 " in doc.parse_error


def test_utf16_is_named(tmp_path: Path) -> None:
    doc = _parse_file(tmp_path / "wide.txt", "hello".encode("utf-16"))
    assert not doc.decodable and doc.parse_error is not None and "UTF-16" in doc.parse_error


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file: it has 0 bytes"),
        ("blank.md", b"  \n\t\n\n", "no text found: the file holds only whitespace or markup"),
        ("script.html", b"<script>x()</script><style>p{}</style>", "no text found"),
        ("scan.pdf", make_pdf([[], []]), "no text found: the PDF has no text layer"),
        ("garbage.pdf", b"%PDF-1.7\n" + os.urandom(300), "corrupted PDF"),
        ("notpdf.pdf", b"hello, I am not a PDF", "corrupted PDF"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "corrupted DOCX (not a valid Word document)"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "corrupted DOCX"),
        ("data.xyz", b"whatever", "unsupported file type .xyz"),
        ("Makefile", b"all:\n", "unsupported file type (no extension)"),
    ],
)
def test_bad_content(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    doc = _parse_file(tmp_path / name, content)
    assert doc.parse_error is not None and doc.parse_error.startswith(reason), doc.parse_error
    assert doc.text == "" and doc.title == name


def test_docx_zip_without_document_part(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    doc = _parse_file(tmp_path / "empty.docx", buffer.getvalue())
    assert doc.parse_error is not None and doc.parse_error.startswith("corrupted DOCX")


def test_encrypted_pdf(tmp_path: Path) -> None:
    from tests.fixtures.documents import make_encrypted_pdf

    doc = _parse_file(tmp_path / "locked.pdf", make_encrypted_pdf())
    assert doc.parse_error == "the PDF is encrypted with a password; save an unprotected copy"


def test_huge_file_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.md"
    with open(path, "wb") as handle:
        handle.truncate(HUGE_BYTES)
    source = _source(path)
    real_open = builtins.open
    opened: list[str] = []  # asserted on below: an assert in here would become the parser's parse_error

    def recording_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    started = time.perf_counter()
    doc = parse(source, LIMIT)
    monkeypatch.undo()
    assert str(path) not in opened, "the oversized file was opened"
    assert time.perf_counter() - started < 1
    assert doc.parse_error == (
        "file is 52,428,800 bytes, over the 20,971,520-byte limit (ingest.max_document_bytes)"
    )
    assert doc.size_bytes == HUGE_BYTES and doc.text == "" and doc.content_hash == ""


def test_file_that_grew_past_the_limit_after_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing.txt"
    path.write_bytes(b"x" * 100)
    real_stat = os.stat
    monkeypatch.setattr(
        parsers.os, "stat", lambda p, *a, **k: os.stat_result((*real_stat(p)[:6], 10, *real_stat(p)[7:]))
    )
    doc = parse(_source(path), 50)
    assert doc.parse_error is not None and doc.parse_error.startswith("file is 51 bytes, over the 50-byte")


def test_source_error_is_passed_on(tmp_path: Path) -> None:
    source = SourceFile(
        doc_id="loop.md",
        path=str(tmp_path / "loop.md"),
        source="loop.md",
        type="markdown",
        size_bytes=0,
        error="symlink loop: loop.md -> loop.md",
    )
    doc = parse(source, LIMIT)
    assert doc.parse_error == "symlink loop: loop.md -> loop.md"
    assert (doc.doc_id, doc.source, doc.title, doc.type) == ("loop.md", "loop.md", "loop.md", "markdown")


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.md"
    path.write_text("# Secret\n")
    (tmp_path / "open.md").write_text("# Open\n")
    deny_access(monkeypatch, path)
    doc = parse(_source(path), LIMIT)
    assert doc.parse_error == f"permission denied: cannot read {path}; check its permissions"
    assert parse(_source(tmp_path / "open.md"), LIMIT).title == "Open"


def test_file_gone_since_discovery(tmp_path: Path) -> None:
    doc = parse(_source(tmp_path / "gone.md"), LIMIT)
    assert doc.parse_error == f"the file {tmp_path / 'gone.md'} no longer exists"


@pytest.mark.timeout(10)
def test_fifo_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")  # opening it would block forever
    doc = parse(_source(tmp_path / "pipe.txt"), LIMIT)
    assert doc.parse_error == "not a regular file: pipe.txt is not a plain file"


def test_a_parser_library_crash_costs_one_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(data: bytes) -> parsers.Extracted:
        raise RuntimeError("library bug")

    monkeypatch.setitem(parsers._EXTRACTORS, "text", crash)
    doc = _parse_file(tmp_path / "a.txt", "fine text")
    assert doc.parse_error == "could not parse the text file: RuntimeError: library bug"


def test_write_docx_helper_roundtrip(tmp_path: Path) -> None:
    write_docx(tmp_path / "d.docx", "T", [("H", ["p1", "p2"])])
    assert parse(_source(tmp_path / "d.docx"), LIMIT).text == "# T\n\n## H\n\np1\n\np2"
