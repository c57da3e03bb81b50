"""Chunk vectors in Qdrant: local mode under the platform home by default, a Qdrant server in production.

One collection per knowledge base (``collection_prefix + kb``), cosine distance. A chunk's point id is
derived from ``doc_id#chunk_no``, so writing a document again overwrites its points instead of adding
copies; points of an older version of the document that the new one did not overwrite are removed with
``delete_stale``.

Qdrant's local mode lets one client at a time open a storage folder, and its client is not thread-safe:
the module keeps one shared client per folder, serialises calls to it, and closes it with its last user.
Processes that write in turn (parallel ingestion shards) open it per write instead (``exclusive_local``).
``qdrant_client`` is imported only when a store is opened: it takes about a second to import.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genai.ingest.records import Chunk, ScoredChunk
from genai.settings import QdrantSettings
from genai.stores.errors import TransientStoreError
from genai.stores.vectors_hybrid import VectorCollections
from genai.stores.vectors_local import ExclusiveLocalClient, open_local_client

if TYPE_CHECKING:
    from qdrant_client import QdrantClient
    from qdrant_client.http import models

    from genai.stores.vectors_hybrid import CollectionLayout
    from genai.stores.vectors_index import CollectionIndex

# Never change: every stored point id is derived from it.
POINT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e8f-9a0b-1c2d3e4f5a6b")
REQUIRED_EXTRAS = ("doc_hash", "pipeline_version", "source", "title", "type")
KEYWORD_INDEXES = ("doc_id", "source")
UPSERT_BATCH = 256
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_SCORED_FIELDS = tuple(name for name in ScoredChunk.model_fields if name != "score")

FilterValue = str | int | bool | Sequence[str] | Sequence[int]
VectorPoint = tuple[Chunk, Sequence[float], Mapping[str, Any]]


def point_id(doc_id: str, chunk_no: int) -> str:
    """The Qdrant point id of a chunk: the same on every run, machine and version."""
    return str(uuid.uuid5(POINT_ID_NAMESPACE, f"{doc_id}#{chunk_no}"))


@dataclass
class _SharedLocalClient:
    client: QdrantClient
    lock: threading.RLock
    users: int = 0
    # In-memory indexes by collection name (genai.stores.vectors_index), read and dropped under ``lock``.
    indexes: dict[str, CollectionIndex] = field(default_factory=dict)


_local_clients: dict[Path, _SharedLocalClient] = {}
_local_clients_lock = threading.Lock()


def _acquire_local(path: Path) -> _SharedLocalClient:
    key = path.expanduser().resolve()
    with _local_clients_lock:
        shared = _local_clients.get(key)
        if shared is None:
            client = open_local_client(key)
            shared = _local_clients[key] = _SharedLocalClient(client, threading.RLock())
        shared.users += 1
        return shared


def _release_local(shared: _SharedLocalClient) -> None:
    with _local_clients_lock:
        shared.users -= 1
        if shared.users > 0:
            return
        for key, candidate in list(_local_clients.items()):
            if candidate is shared:
                del _local_clients[key]
        shared.client.close()


@contextmanager
def translate_qdrant_errors(operation: str) -> Iterator[None]:
    """Re-raise Qdrant's transport failures and retryable HTTP statuses as ``TransientStoreError``."""
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    try:
        yield
    except ResponseHandlingException as error:  # the request never got an answer
        raise TransientStoreError(f"{operation}: {error}") from error
    except UnexpectedResponse as error:
        if error.status_code in _RETRYABLE_STATUS:
            raise TransientStoreError(f"{operation}: {error}") from error
        raise
    except (ConnectionError, TimeoutError) as error:
        raise TransientStoreError(f"{operation}: {error}") from error


class VectorStore(VectorCollections):
    """Chunk vectors of every knowledge base, one Qdrant collection each."""

    def __init__(
        self, qdrant: QdrantSettings, *, timeout: int | None = None, exclusive_local: bool = False
    ) -> None:
        """Open the store the section names: ``url`` (a server) or ``path`` (local mode).

        ``exclusive_local``: in local mode, open the folder only inside each call or ``held()`` block,
        under a cross-process lock (``genai.stores.vectors_local``), so that several processes can write
        in turn; a server ignores it."""
        if not qdrant.url and qdrant.path is None:
            raise ValueError("qdrant settings name neither a url (server) nor a path (local mode)")
        self.collection_prefix = qdrant.collection_prefix
        self._use_local_index = qdrant.local_index
        self._shared: _SharedLocalClient | None = None
        self._exclusive: ExclusiveLocalClient | None = None
        self._closed = False
        self._lock: AbstractContextManager[Any]
        if qdrant.url:
            from qdrant_client import QdrantClient

            api_key = qdrant.api_key.get_secret_value() if qdrant.api_key else None
            self._client: QdrantClient | None = QdrantClient(url=qdrant.url, api_key=api_key, timeout=timeout)
            self._lock = nullcontext()  # the HTTP client is thread-safe
        elif exclusive_local:
            assert qdrant.path is not None
            self._exclusive = ExclusiveLocalClient(qdrant.path)
            self._client = None
            self._lock = nullcontext()
        else:
            assert qdrant.path is not None
            self._shared = _acquire_local(qdrant.path)
            self._client = self._shared.client
            self._lock = self._shared.lock

    @property
    def is_local(self) -> bool:
        return self._shared is not None or self._exclusive is not None

    def held(self) -> AbstractContextManager[Any]:
        """Keep the store open across the calls of a ``with`` block: in exclusive local mode the folder is
        opened (and the lock taken) once for the block instead of once per call; otherwise nothing."""
        return self._exclusive.hold() if self._exclusive is not None else nullcontext()

    def collection_name(self, kb: str) -> str:
        return f"{self.collection_prefix}{kb}"

    def exists(self, kb: str) -> bool:
        """Whether the knowledge base has a collection."""
        name = self.collection_name(kb)
        with self._call(f"looking up {name}") as client:
            return bool(client.collection_exists(name))

    def knowledge_bases(self) -> list[str]:
        """Knowledge bases with a collection under this store's prefix, sorted."""
        prefix = self.collection_prefix
        with self._call("listing collections") as client:
            names = [collection.name for collection in client.get_collections().collections]
        return sorted(name[len(prefix) :] for name in names if name.startswith(prefix))

    def delete_stale(
        self, kb: str, doc_id: str, keep_hash: str, keep_pipeline_version: str | None = None
    ) -> None:
        """Delete the document's points not written for ``keep_hash`` (and ``keep_pipeline_version``,
        when given: a new pipeline may chunk the same text into fewer chunks)."""
        from qdrant_client.http import models

        keep = [_condition("doc_hash", keep_hash)]
        if keep_pipeline_version is not None:
            keep.append(_condition("pipeline_version", keep_pipeline_version))
        stale = models.Filter(must=[_condition("doc_id", doc_id)], must_not=[models.Filter(must=keep)])
        self._delete(kb, stale)

    def delete_stale_many(self, kb: str, keep: Mapping[str, tuple[str, str]]) -> None:
        """``delete_stale`` for many documents in one request: ``keep`` maps doc_id to the (doc_hash,
        pipeline_version) whose points stay. One request matters in local mode, where every filtered
        delete scans the whole collection."""
        from qdrant_client.http import models

        if not keep:
            return
        stale = [
            models.Filter(
                must=[_condition("doc_id", doc_id)],
                must_not=[
                    models.Filter(
                        must=[_condition("doc_hash", doc_hash), _condition("pipeline_version", version)]
                    )
                ],
            )
            for doc_id, (doc_hash, version) in keep.items()
        ]
        self._delete(kb, models.Filter(should=stale))

    def point_owners(self, kb: str) -> dict[tuple[str, str, str], int]:
        """How many points each (doc_id, doc_hash, pipeline_version) owns: the consistency check's view."""
        name = self.collection_name(kb)
        owners: dict[tuple[str, str, str], int] = {}
        with self._call(f"listing {name}") as client:
            if not client.collection_exists(name):
                return owners
            offset = None
            while True:
                points, offset = client.scroll(
                    name,
                    limit=1024,
                    offset=offset,
                    with_vectors=False,
                    with_payload=["doc_id", "doc_hash", "pipeline_version"],
                )
                for point in points:
                    payload = point.payload or {}
                    key = (
                        payload.get("doc_id", ""),
                        payload.get("doc_hash", ""),
                        payload.get("pipeline_version", ""),
                    )
                    owners[key] = owners.get(key, 0) + 1
                if offset is None:
                    return owners

    def delete_documents(self, kb: str, doc_ids: Sequence[str]) -> None:
        """Delete every point of these documents (nothing to do for an unknown knowledge base)."""
        from qdrant_client.http import models

        if doc_ids:
            self._delete(kb, models.Filter(must=[_condition("doc_id", list(doc_ids))]))

    def count(self, kb: str) -> int:
        """Exact number of points of the knowledge base; 0 when it has no collection."""
        name = self.collection_name(kb)
        with self._call(f"counting {name}") as client:
            if not client.collection_exists(name):
                return 0
            return client.count(name, exact=True).count

    def drop(self, kb: str) -> bool:
        """Delete the knowledge base's collection; returns whether there was one."""
        name = self.collection_name(kb)
        with self._call(f"dropping {name}") as client:
            if not client.collection_exists(name):
                return False
            self.forget_index(name)
            return bool(client.delete_collection(name))

    def local_index(
        self, client: QdrantClient, name: str, layout: CollectionLayout
    ) -> CollectionIndex | None:
        """The in-memory index of collection ``name`` (read now if there is none), for the shared local-mode
        client only; None otherwise or when ``qdrant.local_index`` is off. Call it under ``_call``."""
        if self._shared is None or not self._use_local_index:
            return None
        index = self._shared.indexes.get(name)
        if index is None:
            from genai.stores.vectors_index import read_index

            index = self._shared.indexes[name] = read_index(client, name, layout)
        return index

    def forget_index(self, name: str) -> None:
        """Drop collection ``name``'s in-memory index: every write calls it, under ``_call``."""
        if self._shared is not None:
            self._shared.indexes.pop(name, None)

    def close(self) -> None:
        """Release the client (a shared local one closes with its last user). Safe to call twice."""
        client, self._client = self._client, None
        self._closed = True
        if client is None:
            return
        if self._shared is not None:
            _release_local(self._shared)
        else:
            client.close()

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _call(self, operation: str) -> Iterator[QdrantClient]:
        if self._closed:
            raise RuntimeError("the vector store is closed")
        if self._exclusive is not None:
            with self._exclusive.hold() as client, translate_qdrant_errors(operation):
                yield client
            return
        assert self._client is not None
        with self._lock, translate_qdrant_errors(operation):
            yield self._client

    def _delete(self, kb: str, selector: models.Filter) -> None:
        from qdrant_client.http import models

        name = self.collection_name(kb)
        with self._call(f"deleting from {name}") as client:
            if client.collection_exists(name):
                self.forget_index(name)
                client.delete(name, points_selector=models.FilterSelector(filter=selector), wait=True)


def _floats(vector: Sequence[float]) -> list[float]:
    tolist = getattr(vector, "tolist", None)  # numpy arrays and torch tensors convert in one call
    return [float(x) for x in (tolist() if tolist is not None else vector)]


def _payload(chunk: Chunk, extras: Mapping[str, Any]) -> dict[str, Any]:
    missing = [key for key in REQUIRED_EXTRAS if key not in extras]
    if missing:
        raise ValueError(f"payload of {chunk.doc_id}#{chunk.chunk_no} lacks {missing}")
    # The chunk's own fields win: the payload must describe the vector it is stored with.
    return {**extras, **chunk.model_dump(exclude={"token_count"})}


def _condition(key: str, value: FilterValue) -> models.FieldCondition:
    from qdrant_client.http import models

    if isinstance(value, str | int | bool):
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))
    return models.FieldCondition(key=key, match=models.MatchAny(any=list(value)))


def _filter(filters: Mapping[str, FilterValue] | None) -> models.Filter | None:
    from qdrant_client.http import models

    if not filters:
        return None
    return models.Filter(must=[_condition(key, value) for key, value in filters.items()])


def _scored(point: Any) -> ScoredChunk:
    payload = point.payload or {}
    fields = {name: payload[name] for name in _SCORED_FIELDS if name in payload}
    return ScoredChunk(score=point.score, **fields)
