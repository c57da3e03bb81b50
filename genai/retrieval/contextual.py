"""Contextual chunks: what is embedded (and turned into sparse terms) for a chunk, beside the chunk itself.

A chunk cut from the middle of a document often never names what it is about: "Set it to 0 to disable"
under "Configuration > max_connections" of "PostgreSQL server settings". With ``retrieval.contextual``
on, the document title and the chunk's heading path are put in front of the chunk's text for both its
dense and its sparse vector; the stored text (what search returns and answers cite) stays the chunk's own.
The prefix is capped at ``MAX_PREFIX_CHARS`` so that it cannot crowd the chunk out of the embedding model's
window (the model truncates the end of a text longer than its window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genai.ingest.records import Chunk

CONTEXTUAL_VERSION = "1"  # bump when the text built below changes: contextual vectors are then rebuilt
MAX_PREFIX_CHARS = 200
HEADING_SEPARATOR = " > "


def context_prefix(title: str, heading_path: Sequence[str]) -> str:
    """The title and heading path as one or two lines; the title is left out where the path repeats it."""
    headings = [heading.strip() for heading in heading_path if heading.strip()]
    if headings and headings[0].casefold() == title.strip().casefold():
        headings = headings[1:]
    lines = [line for line in (title.strip(), HEADING_SEPARATOR.join(headings)) if line]
    prefix = "\n".join(lines)
    return prefix[:MAX_PREFIX_CHARS].rstrip()


def contextual_text(chunk: Chunk, title: str) -> str:
    """The text embedded for ``chunk`` of a document titled ``title``."""
    prefix = context_prefix(title, chunk.heading_path)
    return f"{prefix}\n\n{chunk.text}" if prefix else chunk.text


def index_texts(chunks: Sequence[Chunk], titles: Mapping[str, str], contextual: bool) -> list[str]:
    """The texts that chunks are indexed by: contextual ones, or the chunks' own text. ``titles`` maps a
    chunk's doc_id to its document's title."""
    if not contextual:
        return [chunk.text for chunk in chunks]
    return [contextual_text(chunk, titles.get(chunk.doc_id, "")) for chunk in chunks]
