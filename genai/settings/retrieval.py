"""Settings of retrieval: how a knowledge base is indexed (sparse vectors, contextual chunks) and searched
(dense, sparse or hybrid with weighted reciprocal rank fusion, neighbouring chunks for answers).

Index-time fields (``sparse``, ``contextual``) are part of the pipeline version: changing them re-indexes
the knowledge base on its next ingestion, as a chunking change does. Query-time fields (``mode``, the
weights, ``rrf_k``, ``neighbours``) take effect on the next search. ``knowledge_bases.NAME`` overrides any
of them for one knowledge base; a field it leaves unset keeps the section's value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from genai.settings.section import SettingsSection

RetrievalMode = Literal["dense", "sparse", "hybrid"]


class KnowledgeBaseRetrieval(SettingsSection):
    """One knowledge base's overrides of the retrieval section; ``None`` keeps the section's value."""

    mode: RetrievalMode | None = None
    rrf_k: int | None = Field(None, ge=1)
    dense_weight: float | None = Field(None, ge=0.0)
    sparse_weight: float | None = Field(None, ge=0.0)
    sparse: bool | None = None
    contextual: bool | None = None
    neighbours: int | None = Field(None, ge=0, le=8)
    candidates: int | None = Field(None, ge=1, le=1000)


class ResolvedRetrieval(BaseModel):
    """The retrieval choices in force for one knowledge base (the section with its overrides applied).
    ``mode_explicit`` says whether the mode was set for this knowledge base rather than inherited."""

    model_config = ConfigDict(frozen=True)

    mode: RetrievalMode
    rrf_k: int
    dense_weight: float
    sparse_weight: float
    sparse: bool
    contextual: bool
    neighbours: int
    candidates: int
    mode_explicit: bool = False


class RetrievalSettings(SettingsSection):
    """How knowledge bases are indexed and searched (docs/retrieval.md)."""

    mode: RetrievalMode = Field(
        "hybrid",
        description="Search mode when the caller names none. A knowledge base indexed without sparse "
        "vectors is searched dense while this default is inherited; a mode set for it explicitly "
        "(knowledge_bases.NAME.mode or the caller's) is refused with the fix instead.",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion's k: 1/(k + rank); larger flattens.")
    dense_weight: float = Field(1.0, ge=0.0, description="Weight of the dense ranking in the fusion.")
    sparse_weight: float = Field(1.0, ge=0.0, description="Weight of the sparse ranking in the fusion.")
    sparse: bool = Field(True, description="Index time: store BM25-style sparse vectors next to dense ones.")
    contextual: bool = Field(
        False,
        description="Index time: embed each chunk with its document title and heading path (the stored "
        "text is unchanged).",
    )
    neighbours: int = Field(
        0, ge=0, le=8, description="Chunks on each side of a hit added to answers' context (the gateway)."
    )
    candidates: int = Field(
        50, ge=1, le=1000, description="Hits each ranking contributes to the fusion (at least k)."
    )
    knowledge_bases: dict[str, KnowledgeBaseRetrieval] = Field(
        default_factory=dict, description="Per knowledge base overrides of the fields above."
    )

    def for_kb(self, kb: str) -> ResolvedRetrieval:
        """The choices in force for ``kb``."""
        override = self.knowledge_bases.get(kb) or KnowledgeBaseRetrieval()
        values = {
            name: getattr(override, name) if getattr(override, name) is not None else getattr(self, name)
            for name in KnowledgeBaseRetrieval.model_fields
        }
        return ResolvedRetrieval(**values, mode_explicit=override.mode is not None)
