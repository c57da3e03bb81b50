"""The parent of a sharded ingestion, as plain functions: its parameters, the shard plan, and the final
step that only a run seeing the whole source may take (deleting gone documents, the consistency check).

``flows/ingest_sharded.py`` plans the shards, starts one run of the ingest deployment per shard on a work
pool, waits for them, then calls ``finish`` here once every shard has completed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from genai.ingest.plan import plan_changes
from genai.ingest.request import IngestRequest, shown
from genai.ingest.shards import MAX_SHARDS, shard_sizes
from genai.ingest.stages import delete_documents, discover_files, remove_stray_vectors
from genai.ingest.stores import IngestStores
from genai.settings import IngestSettings

DEFAULT_DEPLOYMENT = "ingest/ingest"

Shards = Annotated[
    int,
    Field(ge=1, le=MAX_SHARDS),
    shown(
        "Shards",
        "Into how many parallel runs to split the source (by a stable hash of each document's id, so a "
        "re-run gives every shard the same documents).",
        minimum=1,
        maximum=MAX_SHARDS,
    ),
]
Deployment = Annotated[
    str,
    Field(pattern=r"^[^/]+/[^/]+$"),
    shown(
        "Shard deployment",
        "The ingest deployment each shard runs as (FLOW/DEPLOYMENT): its work pool decides where shards run, "
        "e.g. ingest/ingest (process pool) or ingest/ingest-k8s (Kubernetes pool).",
        pattern=r"^[^/]+/[^/]+$",
    ),
]
WaitSeconds = Annotated[
    float,
    Field(gt=0),
    shown("Wait (seconds)", "How long to wait for the shards before the parent run gives up.", minimum=1),
]


class ShardPlan(BaseModel):
    """How many documents each shard holds; shards with none are not started."""

    count: int
    sizes: list[int]

    @property
    def documents(self) -> int:
        return sum(self.sizes)

    def busy(self) -> list[int]:
        """The indexes of the shards that hold documents."""
        return [index for index, size in enumerate(self.sizes) if size]


class FinalStep(BaseModel):
    """What the parent's final step did once every shard had finished."""

    deleted: int = 0
    repaired: int = 0
    total_chunks: int = 0


def plan_shards(request: IngestRequest, ingest: IngestSettings, count: int) -> ShardPlan:
    """List the whole source once (no file is read) and count each shard's documents."""
    return ShardPlan(count=count, sizes=shard_sizes(discover_files(request, ingest), count))


def shard_parameters(request: IngestRequest, index: int, count: int) -> dict[str, object]:
    """The ingest deployment's parameters for one shard: the parent's request plus the shard."""
    return {**request.model_dump(mode="json"), "shard_index": index, "shard_count": count}


def finish(request: IngestRequest, ingest: IngestSettings, stores: IngestStores) -> FinalStep:
    """Delete documents gone from the whole source (unless kept), then remove points no complete document
    owns. Only safe once no shard is writing: a shard's window in flight has points but no record yet."""
    kb = request.knowledge_base
    present = [file.doc_id for file in discover_files(request, ingest)]  # listed again: the latest view
    gone = plan_changes([], stores.documents.stored_states(kb), "", present, ingest.keep_deleted).deleted
    with stores.vectors.held():
        deleted = delete_documents(gone, stores, kb)
        repaired = remove_stray_vectors(stores, kb)
    return FinalStep(deleted=deleted, repaired=repaired, total_chunks=stores.documents.count_chunks(kb))
