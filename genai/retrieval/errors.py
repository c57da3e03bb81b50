"""What a search can refuse: a knowledge base that does not exist, or a mode its index cannot serve."""

from __future__ import annotations


class UnknownKnowledgeBaseError(LookupError):
    """Search named a knowledge base that has never been ingested."""


class SparseIndexMissingError(ValueError):
    """A sparse or hybrid search on a knowledge base indexed without sparse vectors (ingested before they
    existed, or with ``retrieval.sparse: false``). The fix is to re-ingest it with sparse vectors on."""

    def __init__(self, kb: str, mode: str) -> None:
        super().__init__(
            f"knowledge base {kb!r} has no sparse vectors, so a {mode} search cannot run: it was indexed "
            f"before sparse vectors existed or with retrieval.sparse off. Re-ingest it with "
            f"retrieval.sparse on (the default) to index them, or search it with mode 'dense'"
        )
        self.kb, self.mode = kb, mode
