"""Parsing: turn one ``SourceFile`` into a ``ParsedDocument`` with normalized text.

``parse`` never raises for bad input. A file it cannot read or extract gets a ``parse_error`` a person
can act on (and ``decodable=False`` when the bytes are not text), so the quality suite can quarantine it.
Headings come out as markdown '#' lines whatever the format, because the chunker splits on them.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genai.ingest.normalize import PAGE_BREAK, normalize_text
from genai.ingest.records import DocumentType, ParsedDocument, SourceFile

_TITLE_CHARS = 200
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # Cc but tab, newlines, form feed
_MAX_CONTROL_SHARE = 0.1  # real text has next to no control characters; binary data has many
_MD_TITLE = re.compile(r"^#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_HEADING_MARKS = re.compile(r"^#{1,6}[ \t]+")  # a fallback title line that is a heading loses its marks
_DOCX_HEADING = re.compile(r"^heading\s*([1-6])\b", re.IGNORECASE)

_HTML_DROPPED = frozenset(
    {"script", "style", "nav", "footer", "noscript", "template", "head", "svg", "iframe", "object", "canvas"}
)
_HTML_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "aside",
        "blockquote",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "figure",
        "figcaption",
        "address",
        "hr",
        "form",
        "fieldset",
        "details",
        "summary",
        "body",
        "html",
        "caption",
    }
)
_HTML_HEADINGS = {f"h{level}": level for level in range(1, 7)}


class ParseFailure(Exception):
    """Why a file has no usable text; ``size_bytes`` when the failure learnt the file's real size."""

    def __init__(self, reason: str, *, decodable: bool = True, size_bytes: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.decodable = decodable
        self.size_bytes = size_bytes


@dataclass
class Extracted:
    """What an extractor got out of the bytes, before normalization."""

    text: str
    title: str | None = None
    pages: int | None = None


def decode_text(data: bytes) -> str:
    """Strict UTF-8 (a BOM is allowed), refusing binary data that only happens to be named as text."""
    if data.startswith(_UTF16_BOMS):
        raise ParseFailure(
            "the file is UTF-16 encoded (it starts with a UTF-16 BOM); save it as UTF-8", decodable=False
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ParseFailure(
            f"binary content: NUL byte at offset {nul:,}; this is not a text file", decodable=False
        )
    offset = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = offset + exc.start
        raise ParseFailure(
            f"invalid UTF-8 at byte offset {at:,} (bytes {data[at : at + 4].hex(' ')}); "
            "save the file as UTF-8",
            decodable=False,
        ) from None
    controls = len(_CONTROL_CHARS.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_SHARE:
        raise ParseFailure(
            f"binary content: {controls:,} of {len(text):,} characters are control "
            "characters; this is not a text file",
            decodable=False,
        )
    return text


def _extract_text(data: bytes) -> Extracted:
    return Extracted(decode_text(data))


def _extract_markdown(data: bytes) -> Extracted:
    text = decode_text(data)
    heading = _MD_TITLE.search(text)
    return Extracted(text, heading.group(1) if heading else None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _html_blocks(root: Any) -> str:
    """Render parsed HTML as text: blocks on their own lines, headings as '#' lines, whitespace folded.

    An explicit stack instead of recursion, so deeply nested pages do not hit the recursion limit.
    Plain ``str`` items on the stack are output; bs4 nodes (``str`` subclasses too) are rendered.
    """
    from bs4.element import NavigableString, PreformattedString, Tag

    out: list[str] = []
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, PreformattedString):
            continue  # comments, doctypes, processing instructions
        if isinstance(item, NavigableString):
            out.append(re.sub(r"\s+", " ", str(item)))
        elif isinstance(item, str):
            out.append(item)
        elif isinstance(item, Tag) and item.name not in _HTML_DROPPED:
            before, after = _html_wrapping(item)
            if item.name in _HTML_HEADINGS or item.name == "pre":
                out.append(before)
                stack.append(after)
                continue
            stack.append(after)
            stack.extend(reversed(item.contents))
            stack.append(before)
    lines = (line.strip() for line in "".join(out).split("\n"))
    return "\n".join(lines)


def _html_wrapping(tag: Any) -> tuple[str, str]:
    """The text that goes before and after a tag's content; headings and <pre> include it."""
    name = tag.name
    if name in _HTML_HEADINGS:
        return f"\n\n{'#' * _HTML_HEADINGS[name]} {_one_line(tag.get_text(' '))}\n\n", ""
    if name == "pre":
        return f"\n\n{tag.get_text()}\n\n", ""
    if name == "br":
        return "\n", ""
    if name == "li":
        return "\n- ", ""
    if name in {"td", "th"}:
        return "", " "
    if name in _HTML_BLOCKS:
        return "\n\n", "\n\n"
    return "", ""


def _extract_html(data: bytes) -> Extracted:
    from bs4 import BeautifulSoup

    if not data.startswith(_UTF16_BOMS) and b"\x00" in data:
        raise ParseFailure(
            "binary content: NUL bytes in an HTML file; this is not a web page", decodable=False
        )
    # html.parser ships with Python: the same page parses the same way on every machine.
    soup = BeautifulSoup(data, "html.parser")
    title = _one_line(soup.title.get_text(" ")) if soup.title else ""
    if not title:
        first_h1 = soup.find("h1")
        title = _one_line(first_h1.get_text(" ")) if first_h1 else ""
    return Extracted(_html_blocks(soup), title or None)


def _extract_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseFailure("the PDF is encrypted with a password; save an unprotected copy")
        pages = list(reader.pages)
    except DependencyError as exc:
        raise ParseFailure(f"the PDF is encrypted and cannot be opened here: {exc}") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, AssertionError) as exc:
        raise ParseFailure(f"corrupted PDF: {exc or type(exc).__name__}") from None
    texts = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:  # pypdf raises many kinds on damaged content streams
            raise ParseFailure(f"corrupted PDF: cannot extract the text of page {number}: {exc}") from None
    meta_title = reader.metadata.title if reader.metadata else None
    title = meta_title if isinstance(meta_title, str) else None
    return Extracted(PAGE_BREAK.join(texts), title, len(pages))


def _docx_table(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) not in seen:  # a merged cell repeats once per grid column it spans
                seen.add(id(cell._tc))
                cells.append(_one_line(cell.text))
        rows.append(" | ".join(cells))
    return rows


def _extract_docx(data: bytes) -> Extracted:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # a bad zip, a missing part or broken XML all mean the same to the user
        raise ParseFailure(f"corrupted DOCX (not a valid Word document): {exc}") from None
    blocks: list[str] = []
    heading_title: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.append("\n".join(_docx_table(item)))
            continue
        text = _one_line(item.text)
        style = item.style.name if item.style is not None and item.style.name else ""
        heading = _DOCX_HEADING.match(style)
        level = 1 if style.lower() == "title" else int(heading.group(1)) if heading else 0
        if text and level:
            heading_title = heading_title or (text if level == 1 else None)
            blocks.append(f"{'#' * level} {text}")
        elif text:
            blocks.append(text)
    title = _one_line(document.core_properties.title or "") or heading_title
    return Extracted("\n\n".join(blocks), title)


_EXTRACTORS: dict[DocumentType, Callable[[bytes], Extracted]] = {
    "markdown": _extract_markdown,
    "text": _extract_text,
    "html": _extract_html,
    "pdf": _extract_pdf,
    "docx": _extract_docx,
}


def _too_big(size: int, max_bytes: int) -> ParseFailure:
    reason = f"file is {size:,} bytes, over the {max_bytes:,}-byte limit (ingest.max_document_bytes)"
    return ParseFailure(reason, size_bytes=size)


def _read(source: SourceFile, max_bytes: int) -> bytes:
    """The file's bytes, checking the size before reading so a huge file is never loaded."""
    try:
        st = os.stat(source.path)
        if not stat.S_ISREG(st.st_mode):
            raise ParseFailure(f"not a regular file: {source.source} is not a plain file")
        if st.st_size > max_bytes:
            raise _too_big(st.st_size, max_bytes)
        with open(source.path, "rb") as handle:
            # One byte over the limit tells a file that grew since the stat apart from one that fits.
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ParseFailure(f"the file {source.path} no longer exists") from None
    except PermissionError:
        raise ParseFailure(f"permission denied: cannot read {source.path}; check its permissions") from None
    except OSError as exc:
        raise ParseFailure(f"cannot read {source.path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise _too_big(len(data), max_bytes)
    return data


def _extract(source: SourceFile, max_bytes: int) -> tuple[Extracted, int]:
    """Read and extract, or raise ``ParseFailure``; anything unexpected becomes one too."""
    if source.error:
        raise ParseFailure(source.error)
    extractor = _EXTRACTORS.get(source.type)
    if extractor is None:
        suffix = Path(source.path).suffix or "(no extension)"
        raise ParseFailure(f"unsupported file type {suffix}")
    data = _read(source, max_bytes)
    if not data:
        raise ParseFailure("empty file: it has 0 bytes", size_bytes=0)
    try:
        return extractor(data), len(data)
    except ParseFailure as failure:
        failure.size_bytes = len(data)
        raise
    except Exception as exc:  # a parser library's bug must cost one document, not the run
        reason = f"could not parse the {source.type} file: {type(exc).__name__}: {exc}"
        raise ParseFailure(reason, size_bytes=len(data)) from exc


def _title(found: str | None, text: str, fallback: str) -> str:
    for candidate in [found or "", *text.split("\n")]:
        line = _one_line(_HEADING_MARKS.sub("", candidate))
        if line:
            return line[:_TITLE_CHARS]
    return fallback


def _no_text_reason(doc_type: DocumentType) -> str:
    if doc_type == "pdf":
        return "no text found: the PDF has no text layer (scanned pages need OCR first)"
    return "no text found: the file holds only whitespace or markup"


def parse(source: SourceFile, max_bytes: int) -> ParsedDocument:
    """Read ``source`` and return its normalized text, title and hash, or the reason it has none."""
    name = Path(source.source).name or source.doc_id
    doc = ParsedDocument(
        doc_id=source.doc_id,
        source=source.source,
        title=name,
        type=source.type,
        size_bytes=source.size_bytes,
        modified=source.modified,
    )
    try:
        extracted, doc.size_bytes = _extract(source, max_bytes)
    except ParseFailure as failure:
        doc.parse_error = failure.reason
        doc.decodable = failure.decodable
        if failure.size_bytes is not None:
            doc.size_bytes = failure.size_bytes
        return doc
    doc.text = normalize_text(extracted.text)
    doc.content_hash = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    doc.pages = extracted.pages
    doc.title = _title(extracted.title, doc.text, name)
    if not doc.text:
        doc.parse_error = _no_text_reason(source.type)
    return doc
