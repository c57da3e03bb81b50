"""Shards: a large source split into parts that separate flow runs ingest in parallel.

A document belongs to shard ``sha256(doc_id) mod count``: the same on every run, machine and Python
process (``hash()`` is salted per process), so a re-run or a retried shard gets exactly the same
documents. The key is the document's id, which is its source-relative path unless the request maps the
path to an id of its own: two paths mapped to one id land in the same shard, where the document suite's
unique-id check still sees both, and no two shards ever write the same points (point ids derive from it).

A shard sees only part of the source, so it never decides that a document is gone: deleting documents
and the consistency check (which removes points that no document record owns yet) belong to the parent
run, after every shard has finished (``flows/ingest_sharded.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import BaseModel, Field, model_validator

from genai.ingest.records import SourceFile

MAX_SHARDS = 256
WHOLE = (0, 1)  # (index, count) of an unsharded run


class ShardSpec(BaseModel):
    """Shard ``index`` of ``count`` (0-based); ``count == 1`` is the whole source."""

    index: int = Field(0, ge=0)
    count: int = Field(1, ge=1, le=MAX_SHARDS)

    @model_validator(mode="after")
    def _index_in_range(self) -> ShardSpec:
        if self.index >= self.count:
            raise ValueError(f"shard index {self.index} is out of range for {self.count} shard(s)")
        return self

    @property
    def sharded(self) -> bool:
        return self.count > 1

    def label(self) -> str:
        """``2-of-4`` (1-based, as people count): for artifact keys and logs."""
        return f"{self.index + 1}-of-{self.count}"


def shard_of(doc_id: str, count: int) -> int:
    """The shard (0-based) a document id belongs to among ``count``."""
    digest = hashlib.sha256(doc_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def select_shard(files: Sequence[SourceFile], shard: ShardSpec) -> list[SourceFile]:
    """The files of one shard, in their original order; every file when the run is not sharded."""
    if not shard.sharded:
        return list(files)
    return [file for file in files if shard_of(file.doc_id, shard.count) == shard.index]


def shard_sizes(files: Sequence[SourceFile], count: int) -> list[int]:
    """How many files each of ``count`` shards holds: what the parent run plans and reports."""
    sizes = [0] * count
    for file in files:
        sizes[shard_of(file.doc_id, count)] += 1
    return sizes
