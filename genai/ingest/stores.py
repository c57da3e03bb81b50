"""The stores an ingestion run writes to, opened together from the settings and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from genai.settings import Settings

if TYPE_CHECKING:
    from genai.stores.documents import DocumentStore
    from genai.stores.quarantine import QuarantineStore
    from genai.stores.runs import RunStore
    from genai.stores.vectors import VectorStore


@dataclass
class IngestStores:
    """Document store, vector store, quarantine and run log for one run."""

    documents: DocumentStore
    vectors: VectorStore
    quarantine: QuarantineStore
    runs: RunStore

    @classmethod
    def open(cls, settings: Settings, *, parallel_writers: bool = False) -> IngestStores:
        """``parallel_writers``: other processes write the same stores at the same time (ingestion
        shards), so a local-mode Qdrant folder is opened only per write, under a file lock."""
        from genai.stores.documents import open_document_store
        from genai.stores.quarantine import QuarantineStore
        from genai.stores.runs import RunStore
        from genai.stores.vectors import VectorStore

        return cls(
            documents=open_document_store(settings.document_store, settings.sql_url),
            vectors=VectorStore(settings.qdrant, exclusive_local=parallel_writers),
            quarantine=QuarantineStore(settings.sql_url),
            runs=RunStore(settings.sql_url),
        )

    def close(self) -> None:
        self.documents.close()
        self.vectors.close()

    def __enter__(self) -> IngestStores:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
