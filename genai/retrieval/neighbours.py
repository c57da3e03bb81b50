"""Neighbour expansion: an answer's passage is a hit with the chunks around it, not the hit alone.

Search ranks small chunks, which makes it precise; an answer needs the sentences before and after the one
that matched (the definition a paragraph refers to, the rest of a list). With ``retrieval.neighbours = n``,
each hit becomes one passage: the contiguous run of its document's chunks from ``chunk_no - n`` to
``chunk_no + n`` that are stored and not already in a better hit's passage. Chunks are exact slices of the
document text (``genai.ingest.chunking``), so the passage joins them by their offsets without repeating the
overlap between consecutive chunks. The passage keeps the hit's score, chunk number and citation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genai.ingest.records import ScoredChunk

if TYPE_CHECKING:
    from genai.stores.vectors import VectorStore


@dataclass(frozen=True)
class Passage:
    """A hit and the passage built around it (the hit itself when it has no neighbours to add)."""

    hit: ScoredChunk
    expanded: ScoredChunk


def join_chunks(chunks: Sequence[ScoredChunk]) -> str:
    """The text of consecutive chunks of one document (sorted by position), each overlap written once."""
    text, end = "", None
    for chunk in chunks:
        if end is None:
            text, end = chunk.text, chunk.end
            continue
        if chunk.end <= end:
            continue  # wholly inside what is already there
        if chunk.start < end:
            text += chunk.text[end - chunk.start :]
        else:
            text += "\n\n" + chunk.text  # the whitespace between two chunks is not stored
        end = chunk.end
    return text


def expand_neighbours(
    vectors: VectorStore, kb: str, hits: Sequence[ScoredChunk], neighbours: int
) -> list[Passage]:
    """One passage per hit, best first; a hit already inside a better hit's passage is dropped."""
    if neighbours <= 0:
        return [Passage(hit, hit) for hit in hits]
    wanted = {
        (hit.doc_id, number)
        for hit in hits
        for number in range(max(0, hit.chunk_no - neighbours), hit.chunk_no + neighbours + 1)
    }
    stored = {(chunk.doc_id, chunk.chunk_no): chunk for chunk in vectors.chunks_at(kb, sorted(wanted))}
    used: set[tuple[str, int]] = set()
    passages: list[Passage] = []
    for hit in hits:
        if (hit.doc_id, hit.chunk_no) in used:
            continue
        run = [hit]
        for step in (-1, 1):  # walk outwards while chunks are stored and free
            number = hit.chunk_no + step
            while abs(number - hit.chunk_no) <= neighbours:
                chunk = stored.get((hit.doc_id, number))
                if chunk is None or (hit.doc_id, number) in used:
                    break
                run.append(chunk)
                number += step
        run.sort(key=lambda chunk: chunk.chunk_no)
        used.update((chunk.doc_id, chunk.chunk_no) for chunk in run)
        expanded = hit.model_copy(
            update={"text": join_chunks(run), "start": run[0].start, "end": run[-1].end}
        )
        passages.append(Passage(hit, expanded))
    return passages
