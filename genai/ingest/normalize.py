"""Text normalization applied to every parsed document before it is hashed and chunked.

``normalize_text`` is idempotent: the content hash of a document must not change when its already
normalized text goes through the pipeline again.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

PAGE_BREAK = "\f"

# Characters that end a line in some encoding or tool; all become '\n' so the chunker sees one kind.
# '\v' is Word's manual line break when documents are exported to text.
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\x85\u2028\u2029]")
# Every remaining whitespace character except '\n' and '\f' (tabs, NBSP, thin spaces, ...).
_SPACES = re.compile(r"[^\S\n\f]+")
# The Cc category except '\t', '\n' and '\f', plus a stray BOM inside the text (invisible noise too).
_DROPPED_CHARS = re.compile(r"[\x00-\x08\x0b\x0d-\x1f\x7f-\x9f\ufeff]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_DIGIT_RUNS = re.compile(r"\d+")

_EDGE_LINES = 2  # header/footer lines looked at on each end of a page
_MIN_REPEAT_PAGES = 3


def _remove_control_chars(text: str) -> str:
    return _DROPPED_CHARS.sub("", text)


def _clean_lines(page: str) -> list[str]:
    return [_SPACES.sub(" ", line).rstrip(" ") for line in page.split("\n")]


def _edge_indices(lines: list[str]) -> set[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:])


def _line_key(line: str) -> str:
    # Digit runs become one '#', so 'Page 9 of 10' and 'Page 10 of 10' are the same footer.
    return _DIGIT_RUNS.sub("#", line.strip())


def _remove_repeated_edges(pages: list[list[str]]) -> list[list[str]]:
    """Drop header/footer lines that repeat at the edges of at least half of the pages (and 3 pages)."""
    edges = [_edge_indices(lines) for lines in pages]
    filled_pages = sum(1 for indices in edges if indices)
    needed = max(_MIN_REPEAT_PAGES, math.ceil(filled_pages / 2))
    if filled_pages < needed:
        return pages
    counts: Counter[str] = Counter()
    for lines, indices in zip(pages, edges, strict=True):
        counts.update({_line_key(lines[i]) for i in indices})
    repeated = {key for key, count in counts.items() if count >= needed}
    if not repeated:
        return pages
    return [
        [line for i, line in enumerate(lines) if i not in indices or _line_key(line) not in repeated]
        for lines, indices in zip(pages, edges, strict=True)
    ]


def normalize_text(text: str) -> str:
    """Return ``text`` in the one canonical form the pipeline hashes, chunks and stores.

    NFC, no control characters, '\\n' newlines, single spaces, no trailing spaces, at most one blank line
    in a row, and no leading or trailing blank lines. Pages (separated by '\\f') lose the header and
    footer lines they share and are joined with a blank line, so no '\\f' is left.
    """
    text = _LINE_BREAKS.sub("\n", text)
    # Control characters go before NFC: removing one can bring a base letter and its combining mark
    # together, and only NFC after that makes a second run a no-op.
    text = unicodedata.normalize("NFC", _remove_control_chars(text))
    pages = [_clean_lines(page) for page in text.split(PAGE_BREAK)]
    if len(pages) >= _MIN_REPEAT_PAGES:
        pages = _remove_repeated_edges(pages)
    joined = "\n\n".join("\n".join(lines) for lines in pages)
    return _BLANK_RUNS.sub("\n\n", joined).strip("\n")
