"""The knowledge bases the gateway searches for retrieval-augmented requests (the ``context`` policy).

One ``VectorStore`` is kept open between requests, so a request pays for a search, not for opening Qdrant
(and, the first time, for loading the embedding model, which ``genai.retrieval`` shares with the rest of
the process). Searches run in worker threads: encoding the query and Qdrant's local mode both block. A
search runs in the knowledge base's configured mode (``retrieval.mode`` or its per-knowledge-base override);
``passages`` also adds each hit's neighbouring chunks (``retrieval.neighbours``) for the prompt.

Qdrant's local mode lets one process at a time open its folder, so while the gateway holds it an ingestion
run in another process cannot write. The store is therefore released after ``idle_seconds`` (10 s) without
a search and opened again by the next one; against a Qdrant server (``qdrant.url``) it stays open.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING

from gateway.errors import InvalidRequest, NoHealthyUpstream

if TYPE_CHECKING:
    from genai.ingest.records import ScoredChunk
    from genai.retrieval.neighbours import Passage
    from genai.settings import Settings
    from genai.stores.vectors import VectorStore

log = logging.getLogger(__name__)

IDLE_SECONDS = 10.0


class KnowledgeBases:
    """Searches the platform's vector store, kept open while in use."""

    def __init__(self, settings: Settings, idle_seconds: float = IDLE_SECONDS) -> None:
        self.settings = settings
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()  # guards opening, closing and the user count
        self._store: VectorStore | None = None
        self._users = 0
        self._last_used = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def is_open(self) -> bool:
        return self._store is not None

    async def search(self, kb: str, query: str, k: int) -> list[ScoredChunk]:
        """The ``k`` best chunks of ``kb`` for ``query``; 400 naming an unknown knowledge base, 503 when
        the store cannot be opened (another process holds Qdrant's local folder)."""
        passages = await self.passages(kb, query, k, neighbours=0)
        return [passage.hit for passage in passages]

    async def passages(self, kb: str, query: str, k: int, neighbours: int | None = None) -> list[Passage]:
        """``search``'s hits, each with the passage of its neighbouring chunks (``neighbours`` on each
        side; None: the knowledge base's ``retrieval.neighbours``)."""
        try:
            return await asyncio.to_thread(self._search, kb, query, k, neighbours)
        finally:
            self._arm_idle_timer()

    def _search(self, kb: str, query: str, k: int, neighbours: int | None) -> list[Passage]:
        from genai.retrieval import SparseIndexMissingError, UnknownKnowledgeBaseError, search
        from genai.retrieval.neighbours import expand_neighbours
        from genai.stores.errors import KnowledgeBaseNotFoundError, TransientStoreError

        try:
            store = self._acquire()
        except TransientStoreError as error:
            raise NoHealthyUpstream(f"the knowledge bases cannot be searched now: {error}") from None
        if neighbours is None:
            neighbours = self.settings.retrieval.for_kb(kb).neighbours
        try:
            hits = search(kb, query, k, settings=self.settings, vectors=store)
            return expand_neighbours(store, kb, hits, neighbours)
        except (UnknownKnowledgeBaseError, KnowledgeBaseNotFoundError) as error:
            raise InvalidRequest(
                str(error), param="knowledge_base", code="knowledge_base_not_found"
            ) from None
        except SparseIndexMissingError as error:
            # The platform's configuration asks for a mode this knowledge base's index cannot serve.
            raise NoHealthyUpstream(str(error)) from None
        except TransientStoreError as error:
            raise NoHealthyUpstream(f"the knowledge base {kb!r} cannot be searched now: {error}") from None
        finally:
            with self._lock:
                self._users -= 1
                self._last_used = time.monotonic()

    def _acquire(self) -> VectorStore:
        from genai.stores.vectors import VectorStore

        with self._lock:
            if self._store is None:
                self._store = VectorStore(self.settings.qdrant)
            self._users += 1
            return self._store

    def _arm_idle_timer(self) -> None:
        if self._timer is not None or self.settings.qdrant.url:
            return
        self._timer = asyncio.get_running_loop().call_later(self.idle_seconds, self._on_idle_timer)

    def _on_idle_timer(self) -> None:
        self._timer = None
        idle_for = time.monotonic() - self._last_used
        if self._users or idle_for < self.idle_seconds:
            self._timer = asyncio.get_running_loop().call_later(
                max(0.05, self.idle_seconds - idle_for), self._on_idle_timer
            )
            return
        # Closing a local client flushes to disk: off the event loop.
        asyncio.get_running_loop().run_in_executor(None, self.release_if_idle)

    def release_if_idle(self) -> bool:
        """Close the store if no search uses it; True when it was closed."""
        with self._lock:
            store = self._store
            if store is None or self._users:
                return False
            self._store = None
            store.close()
        log.debug("released the vector store after %.0f s idle", self.idle_seconds)
        return True

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.to_thread(self.release_if_idle)
